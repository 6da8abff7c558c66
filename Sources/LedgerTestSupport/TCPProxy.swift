import Foundation
import Synchronization

/// A loopback TCP proxy that a test can cut and restore, to take a real server away from a
/// process while it runs (the server itself stays up for the other tests), or pause and resume,
/// to make it half-open: sockets stay connected but no byte moves, as when a network path
/// silently drops packets — no reset, no FIN, only silence.
public final class TCPProxy: Sendable {
    /// The port to connect to instead of the target.
    public let port: Int
    private let target: Int
    private let listener: Int32
    private let state = Mutex<(cut: Bool, paused: Bool, sockets: [Int32])>((false, false, []))

    /// Listens on a free loopback port and forwards to `target` on loopback.
    public init(to target: Int) throws {
        self.target = target
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw ProxyFailure() }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Drops every connection and refuses new ones until `restore()`.
    public func cut() {
        let sockets = state.withLock { state -> [Int32] in
            state.cut = true
            defer { state.sockets = [] }
            return state.sockets
        }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Accepts connections again.
    public func restore() {
        state.withLock { $0.cut = false }
    }

    /// Stops moving bytes, in both directions and on every connection (new ones are accepted and
    /// then starve too), while keeping every socket open, until `resume()`.
    public func pause() {
        state.withLock { $0.paused = true }
    }

    /// Moves bytes again: what was held back while paused is delivered, in order.
    public func resume() {
        state.withLock { $0.paused = false }
    }

    /// Holds a pump while the proxy is paused (not once it is cut: the pump then ends).
    private func waitWhilePaused() {
        while state.withLock({ $0.paused && !$0.cut }) { usleep(10_000) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            if state.withLock({ $0.cut }) {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected else {
                close(client)
                close(upstream)
                continue
            }
            state.withLock { $0.sockets += [client, upstream] }
            Thread { [self] in pump(from: client, to: upstream) }.start()
            Thread { [self] in pump(from: upstream, to: client) }.start()
        }
    }

    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            waitWhilePaused()
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            // Read before the pause began: held until the proxy resumes.
            waitWhilePaused()
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, count - sent) }
                if written <= 0 { break }
                sent += written
            }
            if sent < count { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// The proxy could not listen.
public struct ProxyFailure: Error {}
