public import Foundation
import Testing

/// A `tokenledger serve` child process on a loopback port, for tests that run several replicas.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object, sequentially.
    /// Its loopback port.
    public let port: Int
    /// The child process.
    public let process: Process
    /// Where its standard output and error go.
    public let logPath: String

    /// `http://127.0.0.1:port`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts a replica with `environment` added to the test's own and waits until it is healthy.
    public static func start(port: Int, environment: [String: String], name: String) async throws -> ServerProcess {
        let binary = try TestEnvironment.binary("TOKENLEDGER_BIN", fallback: "tokenledger")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config-dir", TestEnvironment.repositoryRoot + "/config"]
        var env = ProcessInfo.processInfo.environment
        env["TOKENLEDGER_ENV"] = "test"
        env["HTTP_PORT"] = String(port)
        env["NODE_NAME"] = name
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let logPath = NSTemporaryDirectory() + "tokenledger-\(name)-\(port).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let server = ServerProcess(port: port, process: process, logPath: logPath)
        try await server.waitUntilHealthy()
        return server
    }

    private init(port: Int, process: Process, logPath: String) {
        self.port = port
        self.process = process
        self.logPath = logPath
    }

    /// Waits until `/readyz` answers 200, or fails with the replica's log.
    public func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                Issue.record("replica on \(port) exited: \(log())")
                throw TestFailure("replica exited")
            }
            if let (status, _) = try? await HTTP.request("GET", "\(baseURL)/readyz"), status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("replica on \(port) not ready within \(timeout): \(log())")
    }

    /// What the replica wrote so far.
    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// SIGKILL: no chance to release anything.
    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A test set-up that could not be made.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}

/// Where the test's servers and binaries are: set by `tools/test`; a missing one fails loudly.
public enum TestEnvironment {
    /// The repository's root folder.
    public static var repositoryRoot: String { TestServers.repositoryRoot }

    /// The environment variable `name`, or a recorded issue saying to run `tools/test`.
    public static func required(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            Issue.record("\(name) is not set: run the tests with tools/test, which starts the servers")
            throw TestFailure("\(name) is not set")
        }
        return value
    }

    /// The binary named by `name`, or `.build/debug/fallback`.
    public static func binary(_ name: String, fallback: String) throws -> String {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        let candidate = repositoryRoot + "/.build/debug/" + fallback
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            Issue.record("\(name) is not set and \(candidate) does not exist: run swift build first (tools/test does)")
            throw TestFailure("no \(fallback) binary")
        }
        return candidate
    }

    /// A free loopback port (bound then released).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A fresh base64 AES key shared by a test's replicas.
    public static func secretsKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }
}
