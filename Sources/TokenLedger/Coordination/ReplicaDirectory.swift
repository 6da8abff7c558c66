#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A log that can tell which replicas are connected to it now (PostgreSQL: every replica's
/// connections name themselves `tokenledger:<node>`), a heartbeat that costs no write.
public protocol ReplicaDirectory: Sendable {
    /// The replicas with a connection open to the log now, by node name.
    func connectedReplicas() async throws -> [ConnectedReplica]
}

/// One replica connected to the log.
public struct ConnectedReplica: Sendable, Equatable {
    /// Its `node.name` (as its events carry it), cut to what the server keeps (63 bytes).
    public let node: String
    /// How many connections it holds open.
    public let connections: Int
    /// When its oldest open connection was made (nil when the server does not tell this role).
    public let since: Date?

    /// A replica seen connected.
    public init(node: String, connections: Int, since: Date?) {
        self.node = node
        self.connections = connections
        self.since = since
    }
}
