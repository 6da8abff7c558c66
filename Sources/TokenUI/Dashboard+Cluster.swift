import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import TokenHTTP
import TokenLedger

/// `GET /ui/cluster`: the log's head, the replicas connected to the log now and those that
/// appended recently, each read model's checkpoint, lag, leader and failures.
extension Dashboard {
    struct ClusterPage {
        let title = "Cluster"
        let user: User
        let head: Int64
        let memory: Int64
        /// Where the memory model started from, and the newest snapshot of it.
        let started: String
        let snapshot: String
        let node: String
        let models: [Model]
        let scanned: Int
        let presence: String
        let replicas: [Replica]
    }

    struct Model {
        let name: String
        let checkpoint: String
        let lag: String
        let leader: String
        let failures: String
        let lastFailure: String?
    }

    struct Replica {
        let name: String
        let connected: String
        let events: Int
        let last: String
    }

    /// How many of the latest events are scanned for replicas.
    static let replicaScan = 2000

    @Sendable func cluster(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await signedIn(request) { viewer in
            // Every project's events: only a key for every project sees the cluster.
            _ = try access.authorize(viewer.key, .read, project: nil)
            let memory = ledger.projector.model.checkpoint
            let recent = try await ledger.log.readAll(after: max(memory - Int64(Self.replicaScan), 0), limit: Self.replicaScan)
            let newer = try await ledger.log.readAll(after: recent.last?.position ?? memory, limit: 1000)
            let head = newer.last?.position ?? recent.last?.position ?? memory
            var seen: [String: (count: Int, last: Date)] = [:]
            for event in recent {
                let known = seen[event.metadata.node]
                seen[event.metadata.node] = ((known?.count ?? 0) + 1, max(known?.last ?? .distantPast, event.recordedAt))
            }
            let now = now()
            var models = [
                Model(name: "memory", checkpoint: String(memory), lag: String(head - memory), leader: "every replica", failures: "—", lastFailure: nil)
            ]
            for projector in storeProjectors {
                let checkpoint = try? await projector.model.checkpoint()
                let failures = projector.failures
                models.append(
                    Model(
                        name: projector.model.name, checkpoint: checkpoint.map(String.init) ?? "unreachable",
                        lag: checkpoint.map { String(head - $0) } ?? "—", leader: projector.isLeader ? "yes" : "no (another replica leads)",
                        failures: String(failures.count),
                        lastFailure: failures.lastReason.map { "\($0) (\(Formatting.relative(failures.lastAt ?? now, now: now)))" }
                    )
                )
            }
            // Connected now: every replica's connections to PostgreSQL carry its node name.
            let directory = ledger.log as? any ReplicaDirectory
            var connected: [String: ConnectedReplica]?
            if let directory, let replicas = try? await directory.connectedReplicas() {
                connected = Dictionary(replicas.map { ($0.node, $0) }, uniquingKeysWith: { first, _ in first })
            }
            let presence =
                switch (directory, connected) {
                case (.some, .some): "Connected now: replicas with a connection open to PostgreSQL."
                case (.some, nil): "PostgreSQL did not say which replicas are connected."
                case (nil, _): "The embedded log has one replica: this one."
                }
            let names = Set(seen.keys).union(connected.map { Array($0.keys) } ?? []).union([ledger.options.node])
            let replicas = names.sorted().map { name in
                let connection: String
                if let replica = connected?[name] {
                    connection = "yes, \(replica.connections) connection\(replica.connections == 1 ? "" : "s")"
                        + (replica.since.map { ", since \(Formatting.relative($0, now: now))" } ?? "")
                } else if name == ledger.options.node {
                    connection = "yes (this replica)"
                } else {
                    connection = connected == nil ? "not known" : "no"
                }
                return Replica(
                    name: name, connected: connection, events: seen[name]?.count ?? 0,
                    last: seen[name].map { Formatting.relative($0.last, now: now) } ?? "—"
                )
            }
            let started = ledger.projector.restoredFrom.map { "the snapshot at position \($0)" } ?? "the first event of the log"
            let snapshot: String
            if let store = ledger.projector.snapshots {
                snapshot = (try? await store.latestMemorySnapshot(withState: false)).map { newest in
                    newest.map { "position \($0.position), written by \($0.node)" + ($0.writtenAt.map { ", " + Formatting.relative($0, now: now) } ?? "") }
                        ?? "none yet"
                } ?? "not known (the log did not answer)"
            } else {
                snapshot = "off (eventlog.snapshot_every is 0)"
            }
            return page(
                "cluster",
                ClusterPage(
                    user: viewer.user, head: head, memory: memory, started: started, snapshot: snapshot, node: ledger.options.node, models: models,
                    scanned: recent.count,
                    presence: presence, replicas: replicas
                )
            )
        }
    }
}
