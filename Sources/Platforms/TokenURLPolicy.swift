import Foundation
import NIOPosix
import TokenLedger

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs an app's options may send the app's secret to. Whoever may set an app's options
/// must not be able to make the service call a cloud's metadata service or a host inside its own
/// network with a secret attached (server-side request forgery).
///
/// Refused always: link-local and metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254,
/// Alibaba Cloud's 100.100.100.200). Refused unless `allowPrivateNetworks`: loopback, private and
/// unspecified addresses (127/8, 10/8, 172.16/12, 192.168/16, 0/8, ::1, ::, fc00::/7). IPv4 written
/// inside IPv6 (`::ffff:a.b.c.d`, `64:ff9b::a.b.c.d`) is judged as the IPv4 address.
///
/// A host name is resolved and every address it resolves to is judged. The HTTP client resolves
/// the name again when it connects, so a name whose answers change between the two look-ups (DNS
/// rebinding with a zero TTL) is not caught here: where that matters, let token URLs name an
/// address, or resolve internal names through a resolver that never answers private addresses.
public struct TokenURLPolicy: Sendable {
    /// `platforms.oauth2.allow_private_networks`: whether loopback and private addresses may be called.
    public var allowPrivateNetworks: Bool

    /// Creates a policy; private networks are refused unless allowed.
    public init(allowPrivateNetworks: Bool = false) {
        self.allowPrivateNetworks = allowPrivateNetworks
    }

    /// Throws `LedgerError(.invalidInput)` unless `url` is `http`/`https` and every address its
    /// host resolves to may be called under this policy. `name` is how the error names the URL.
    public func check(_ url: String, name: String = "token_url") async throws {
        let host = try Self.host(of: url, name: name)
        let addresses = try await Self.resolve(host, name: name)
        for address in addresses {
            switch Self.classify(address) {
            case .linkLocal:
                throw LedgerError(.invalidInput, "\(name) resolves to a link-local or metadata address, which is never called")
            case .privateNetwork where !allowPrivateNetworks:
                throw LedgerError(
                    .invalidInput,
                    "\(name) resolves to a loopback or private address; platforms.oauth2.allow_private_networks allows them"
                )
            case .privateNetwork, .public:
                continue
            }
        }
    }

    /// The host of an `http`/`https` URL (IPv6 without its brackets), or `LedgerError(.invalidInput)`.
    /// Operators' URLs (`platforms.*.base_url`) are checked with this alone.
    @discardableResult
    public static func host(of url: String, name: String) throws -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw LedgerError(.invalidInput, "\(name) must be an http or https URL")
        }
        guard var host = parsed.host, !host.isEmpty else {
            throw LedgerError(.invalidInput, "\(name) has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// What an address may be.
    enum Reach: Equatable {
        case linkLocal
        case privateNetwork
        case `public`
    }

    /// Judges a 4- or 16-byte address in network order.
    static func classify(_ bytes: [UInt8]) -> Reach {
        if bytes.count == 16 {
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            let compatible = bytes[0..<12].allSatisfy { $0 == 0 }  // also ::1 and ::, as 0.0.0.1 and 0.0.0.0
            let nat64 = bytes[0..<12].elementsEqual([0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0])
            if mapped || compatible || nat64 { return classify(Array(bytes[12..<16])) }
            if bytes == awsMetadataV6 { return .linkLocal }
            if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
            if bytes[0] & 0xFE == 0xFC { return .privateNetwork }  // fc00::/7
            return .public
        }
        guard bytes.count == 4 else { return .linkLocal }
        let (a, b) = (bytes[0], bytes[1])
        if a == 169, b == 254 { return .linkLocal }
        if bytes == [100, 100, 100, 200] { return .linkLocal }  // Alibaba Cloud's metadata service
        if a == 127 || a == 10 || a == 0 || (a == 172 && b & 0xF0 == 16) || (a == 192 && b == 168) { return .privateNetwork }
        return .public
    }

    /// fd00:ec2::254, AWS's metadata service over IPv6.
    static let awsMetadataV6: [UInt8] = [0xFD, 0x00, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]

    /// Every address `host` resolves to (a literal address resolves to itself, in any of the
    /// spellings the C library accepts, such as `2130706433`). `getaddrinfo` blocks, so it runs on
    /// NIO's thread pool, never on an event loop or the cooperative pool.
    static func resolve(_ host: String, name: String) async throws -> [[UInt8]] {
        let addresses = try await NIOThreadPool.singleton.runIfActive { () -> [[UInt8]]? in
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Darwin)
            hints.ai_socktype = SOCK_STREAM
            #else
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
            defer { freeaddrinfo(first) }
            var found: [[UInt8]] = []
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                if let address = current.pointee.ai_addr {
                    switch Int32(current.pointee.ai_family) {
                    case AF_INET:
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                            found.append(withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) })
                        }
                    case AF_INET6:
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                            found.append(withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) })
                        }
                    default:
                        break
                    }
                }
                entry = current.pointee.ai_next
            }
            return found
        }
        guard let addresses, !addresses.isEmpty else {
            throw LedgerError(.invalidInput, "the host of \(name) does not resolve")
        }
        return addresses
    }
}
