import NIOCore
import NIOPosix
import Synchronization

/// Bytes on a connection of their own, for what an HTTP client library hides: the version of a
/// request, a head that never ends, whether the server closed the connection.
public enum RawHTTP {
    /// Sends `request` to `port` on loopback; returns what came back within `wait` and whether the
    /// server closed the connection by then (past `wait` the client closes it).
    public static func exchange(port: Int, _ request: String, wait: Duration = .seconds(3)) async throws -> (text: String, closed: Bool) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        let timedOut = Flag()
        let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(wait / .nanoseconds(1)))) { [underlying = channel.channel] in
            timedOut.set()
            underlying.close(promise: nil)
        }
        var received = ""
        try await channel.executeThenClose { inbound, outbound in
            if !request.isEmpty { try await outbound.write(ByteBuffer(string: request)) }
            do {
                for try await buffer in inbound { received += String(buffer: buffer) }
            } catch {
                // Closed by the timer while reading.
            }
        }
        timer.cancel()
        return (received, !timedOut.isSet)
    }

    /// A flag set once, from any thread.
    private final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }
}
