import Foundation

/// Runs the `tokenledger` command against an embedded server's folder.
public enum Command {
    /// Runs `tokenledger arguments` on the embedded log in `folder`: exit status and output.
    public static func run(_ arguments: [String], folder: String, configured: Bool = true, environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try collect(try Self.process(arguments, folder: folder, configured: configured, environment: extra))
    }

    /// The command, not started, in the test environment, with `extra` over it.
    private static func process(_ arguments: [String], folder: String, configured: Bool, environment extra: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary("TOKENLEDGER_BIN", fallback: "tokenledger"))
        process.arguments = arguments + (configured ? ["--config-dir", TestEnvironment.repositoryRoot + "/config"] : [])
        var environment = ProcessInfo.processInfo.environment
        environment["TOKENLEDGER_ENV"] = "test"
        environment["EVENTLOG_URL"] = "sqlite:\(folder)/ledger.sqlite"
        environment["SECRETS_KEY_FILE"] = "\(folder)/secrets.key"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        return process
    }

    /// Runs a command that must exit on its own (e.g. a `serve` that must refuse to start):
    /// status and output, or nil if it still ran after `within` (it is stopped then).
    public static func runToExit(
        _ arguments: [String],
        folder: String,
        environment extra: [String: String],
        within: Duration = .seconds(20)
    ) async throws -> (status: Int32, output: String)? {
        let child = try Self.process(arguments, folder: folder, configured: true, environment: extra)
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let deadline = ContinuousClock.now.advanced(by: within)
        while child.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if child.isRunning {
            child.terminate()
            child.waitUntilExit()
            return nil
        }
        return (child.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// Runs any program (a store's own client) and returns its trimmed output.
    public static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        return try collect(process).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `process` to its end: exit status and standard output and error together.
    private static func collect(_ process: Process) throws -> (status: Int32, output: String) {
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
