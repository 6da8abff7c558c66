import Crypto
import Foundation
import Metrics
import TokenLedger

/// API keys: who may read tokens, refresh them, or administer (history, events, secrets), for
/// which projects. Keys are configured as SHA-256 hashes, never in plaintext, and compared in
/// constant time. `auth.mode: none` (the original service's behaviour) must be chosen explicitly.
public struct AccessControl: Sendable {
    /// What a key may do.
    public enum Scope: String, Sendable, CaseIterable {
        /// `GET /token/…` of a registered app.
        case read
        /// `PUT /token/…`.
        case refresh
        /// History, the events feed, registering or changing secrets.
        case admin
    }

    /// One configured key.
    public struct Key: Sendable, Equatable {
        /// Its name in events and logs.
        public var id: String
        /// What it may do.
        public var scopes: Set<Scope>
        /// The projects it may touch; `nil` for every project.
        public var projects: Set<String>?
        /// SHA-256 of the key.
        var hash: [UInt8]
    }

    /// `auth.mode`.
    public enum Mode: String, Sendable, CaseIterable {
        /// API keys are required.
        case keys
        /// Anyone who reaches the port (the original service's behaviour), chosen explicitly.
        case none
    }

    /// `none` or `keys`.
    public let enabled: Bool
    let keys: [Key]
    let failures = Counter(label: "tokenledger_auth_failures_total", dimensions: [("reason", "unauthenticated")])
    let refusals = Counter(label: "tokenledger_auth_failures_total", dimensions: [("reason", "forbidden")])

    /// Access control with `auth.mode` (`keys` or `none`) and `auth.keys` entries.
    public init(mode: Mode, entries: [String]) throws {
        switch mode {
        case .none:
            enabled = false
            keys = []
        case .keys:
            enabled = true
            keys = try entries.map(Self.parse)
            guard !keys.isEmpty else {
                throw ConfigurationFailure(message: "auth.mode is keys but auth.keys is empty: add a key (tokenledger key new) or set auth.mode: none explicitly")
            }
        }
    }

    /// `id:scopes:projects:sha256hex`, scopes and projects joined with `+`, `*` for every project.
    static func parse(_ entry: String) throws -> Key {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty, let hash = hex(parts[3]), hash.count == 32 else {
            throw ConfigurationFailure(message: "auth.keys entries are written id:read+refresh+admin:project1+project2|*:sha256-hex")
        }
        var scopes: Set<Scope> = []
        for word in parts[1].split(separator: "+") {
            guard let scope = Scope(rawValue: String(word)) else {
                throw ConfigurationFailure(message: "auth key \(parts[0]) has unknown scope '\(word)'")
            }
            scopes.insert(scope)
        }
        let projects: Set<String>? = parts[2] == "*" ? nil : Set(parts[2].split(separator: "+").map(String.init))
        return Key(id: parts[0], scopes: scopes, projects: projects, hash: hash)
    }

    /// The entry for a new key, and the key itself (shown once).
    public static func newKey(id: String, scopes: [Scope], projects: [String]) -> (key: String, entry: String) {
        let key = "tl_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let hash = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        let projectList = projects.isEmpty ? "*" : projects.joined(separator: "+")
        return (key, "\(id):\(scopes.map(\.rawValue).joined(separator: "+")):\(projectList):\(hash)")
    }

    /// The key an `Authorization` header presents (nil when access control is off), or
    /// `unauthenticated`.
    public func authenticate(authorization header: String?) throws -> Key? {
        guard enabled else { return nil }
        guard let header, header.hasPrefix("Bearer ") else {
            failures.increment()
            throw LedgerError(.unauthenticated, "send an API key as Authorization: Bearer <key>")
        }
        guard let key = key(presentedIn: header) else {
            failures.increment()
            throw LedgerError(.unauthenticated, "the API key is not known")
        }
        return key
    }

    /// The configured key an `Authorization: Bearer …` header presents, or nil; counts nothing.
    func key(presentedIn header: String) -> Key? {
        guard header.hasPrefix("Bearer ") else { return nil }
        let presented = Array(SHA256.hash(data: Data(header.dropFirst(7).utf8)))
        var found: Key?
        for key in keys where Self.constantTimeEqual(key.hash, presented) { found = key }
        return found
    }

    /// Checks the caller's key for `scope` on `project` (`nil`: every project); returns its id
    /// (the events' actor), or nil when access control is off.
    public func authorize(_ key: Key?, _ scope: Scope, project: String?) throws -> String? {
        guard enabled else { return nil }
        // A route outside the authenticating middleware has no caller: refused, never let through.
        guard let key else { throw LedgerError(.unauthenticated, "send an API key as Authorization: Bearer <key>") }
        guard key.scopes.contains(scope) else {
            refusals.increment()
            throw LedgerError(.forbidden, "key \(key.id) may not \(scope.rawValue)")
        }
        if let projects = key.projects, project.map({ !projects.contains($0) }) ?? true {
            refusals.increment()
            throw LedgerError(.forbidden, "key \(key.id) may not use project \(project ?? "* (every project)")")
        }
        return key.id
    }

    /// Whether `key` may change credentials in `project` (the ledger decides it again, atomically
    /// with the append, since a secret can change while a request waits).
    func mayAdminister(_ key: Key?, project: String) -> Bool {
        allows(key, .admin, project: project)
    }

    /// The configured key named `id` (a dashboard session names its key).
    public func key(id: String) -> Key? {
        keys.first { $0.id == id }
    }

    /// Whether `key` may see `project` at all (any scope); always with access control off.
    public func maySee(_ key: Key?, project: String) -> Bool {
        guard enabled else { return true }
        guard let key else { return false }
        return key.projects.map { $0.contains(project) } ?? true
    }

    /// Whether `key` holds `scope` for `project`, without counting a refusal.
    public func allows(_ key: Key?, _ scope: Scope, project: String) -> Bool {
        guard enabled else { return true }
        guard let key, key.scopes.contains(scope) else { return false }
        return key.projects.map { $0.contains(project) } ?? true
    }

    /// Whether two byte strings are equal, in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func hex(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
