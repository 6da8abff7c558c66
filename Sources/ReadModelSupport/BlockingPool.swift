public import Foundation
import NIOPosix
import Synchronization
import TokenLedger

/// A connection of a blocking C client, used by one thread at a time; closed when released.
public protocol BlockingConnection: AnyObject, Sendable {}

/// Runs a blocking C client's calls on threads of its own, never on an event loop, over a pool
/// of connections: at most one connection per thread, made on demand, reused while healthy and
/// dropped after any error (the next call connects afresh).
public final class BlockingPool<Connection: BlockingConnection>: Sendable {
    private let threads: NIOThreadPool
    private let idle = Mutex<[Connection]>([])
    private let connect: @Sendable () throws -> Connection
    private let store: String

    /// A pool of up to `size` connections to `store` (its name in errors: `Redis`, `MySQL`, …)
    /// made by `connect` (which should bound its own wait).
    public init(size: Int, store: String, connect: @escaping @Sendable () throws -> Connection) {
        threads = NIOThreadPool(numberOfThreads: max(1, size))
        threads.start()
        self.store = store
        self.connect = connect
    }

    /// Runs `body` with a connection on a pool thread. A connection that threw is not reused, and
    /// the error becomes `LedgerError(.storeUnavailable)` saying what could not be done.
    public func withConnection<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        do {
            return try await threads.runIfActive {
                let connection = try self.idle.withLock { $0.popLast() } ?? self.connect()
                let value = try body(connection)
                self.idle.withLock { $0.append(connection) }
                return value
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storeUnavailable, "the \(store) read model could not \(what): \(error)")
        }
    }

    /// Drops every idle connection (a store restarted: make new ones).
    public func drain() {
        idle.withLock { $0.removeAll() }
    }

    /// Stops the threads; pending calls fail.
    public func shutdown() async {
        idle.withLock { $0.removeAll() }
        try? await threads.shutdownGracefully()
    }
}

/// A store URL taken apart (Foundation's `URLComponents`): `scheme://[user[:password]@]host[:port][/path]`.
public struct StoreURL: Sendable {
    /// The host.
    public var host: String
    /// The port, if given.
    public var port: Int?
    /// The user, if given.
    public var user: String?
    /// The password, if given.
    public var password: String?
    /// The path without its leading slash (a database name or number), if any.
    public var path: String?

    /// Parses `text`, expecting `scheme`.
    public init(_ text: String, scheme: String) throws {
        guard let components = URLComponents(string: text), components.scheme == scheme else {
            throw StoreURLError(text: text, reason: "expected \(scheme)://[user[:password]@]host[:port]/…")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreURLError(text: text, reason: "no host") }
        self.host = host
        port = components.port
        user = components.user.flatMap { $0.removingPercentEncoding }
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.drop { $0 == "/" }
        self.path = path.isEmpty ? nil : String(path)
    }

    /// The URL with its password hidden, for messages.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }
}

/// A store URL that cannot be used.
public struct StoreURLError: Error, CustomStringConvertible {
    /// The URL, password hidden.
    public var text: String
    /// What is wrong.
    public var reason: String

    /// An error about `text` (its password is hidden).
    public init(text: String, reason: String) {
        self.text = StoreURL.redacted(text)
        self.reason = reason
    }

    public var description: String { "'\(text)': \(reason)" }
}

extension Date {
    /// Milliseconds since 1970, rounded: how the stores keep expiry times.
    public var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}

extension Duration {
    /// Whole milliseconds, for the C clients' timeout options.
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
