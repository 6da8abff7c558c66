import Glibc

/// A plain TCP connection to a live server, for what an HTTP client hides: the exact bytes of
/// answers, pipelined requests, a connection the server closes. Blocking, with a 10 s timeout.
final class RawConnection {
    private let socket: Int32
    private var received: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
    }

    deinit {
        close(socket)
    }

    /// Sends `text` in one write.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "send: \(errno)") }
            sent += count
        }
    }

    /// The next answer, whole (status line, headers, a body of its Content-Length unless it
    /// answers a HEAD), as sent.
    func answer(toHead: Bool = false) throws -> String {
        while true {
            if let end = headEnd() {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let length = toHead ? 0 : Self.contentLength(head)
                if received.count >= end + length {
                    let answer = String(decoding: received[..<(end + length)], as: UTF8.self)
                    received.removeFirst(end + length)
                    return answer
                }
            }
            guard try receive() else { throw Failure(description: "closed before a whole answer: \(String(decoding: received, as: UTF8.self))") }
        }
    }

    /// Whether the server closed the connection (after any answer already read).
    func isClosedByServer() throws -> Bool {
        try received.isEmpty && !receive()
    }

    /// Reads what arrived; false when the connection is closed.
    private func receive() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw Failure(description: "recv: \(errno)") }
        received += buffer[..<count]
        return count > 0
    }

    /// The length of the head (through its blank line) at the start of what was received.
    private func headEnd() -> Int? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard received.count >= 4 else { return nil }
        for index in 0...(received.count - 4) where Array(received[index..<(index + 4)]) == separator { return index + 4 }
        return nil
    }

    private static func contentLength(_ head: String) -> Int {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingPrefix(" ")) ?? 0
        }
        return 0
    }
}
