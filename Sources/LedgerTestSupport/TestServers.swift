public import Foundation

/// The test's own servers, as `tools/test` started them: stopping and starting one of them, and
/// asking PostgreSQL things a test checks (whose locks are held, how many connections are open).
public enum TestServers {
    /// The repository's root folder.
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs `tools/services.sh` with `arguments` (`kill redis`, `start postgres`, …) on the test's servers.
    public static func services(_ arguments: [String]) throws {
        let (status, output) = try run("/bin/bash", [repositoryRoot + "/tools/services.sh"] + arguments)
        guard status == 0 else { throw Failure("tools/services.sh \(arguments.joined(separator: " ")) failed: \(output)") }
    }

    /// The single value `sql` returns, run by `psql` against `url`.
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let (status, output) = try run("/usr/bin/psql", [url, "-X", "-A", "-t", "-q", "-c", sql])
        guard status == 0 else { throw Failure("psql failed: \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Terminates the backends holding a refresh lock (class 21580) while their owners live, as a
    /// failover, an idle-transaction timeout or an operator would; returns how many there were.
    public static func terminateRefreshLockHolders(_ url: String) throws -> Int {
        Int(try psql(url, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND classid = 21580 AND granted
            """)) ?? 0
    }

    /// Connections the service has open to PostgreSQL (its connections name themselves `tokenledger:<node>`).
    public static func serviceConnections(_ url: String) throws -> Int {
        Int(try psql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'tokenledger:%'")) ?? -1
    }

    /// Runs a program to its end: exit status and output. The output goes through a file, not a
    /// pipe: a server the program starts (pg_ctl's postmaster) may keep a pipe open for ever.
    public static func run(_ executable: String, _ arguments: [String], configure: (Process) -> Void = { _ in }) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        configure(process)
        let path = NSTemporaryDirectory() + "tokenledger-run-\(UInt64.random(in: 0...UInt64.max)).out"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        try? output.close()
        return (process.terminationStatus, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// A test server that did not do what was asked.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
