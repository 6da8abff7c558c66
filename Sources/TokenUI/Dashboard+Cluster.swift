import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import TokenHTTP
import TokenLedger

/// `GET /ui/cluster`: the log's head, the replicas that appended recently, each read model's
/// checkpoint and lag.
extension Dashboard {
    struct ClusterPage {
        let title = "Cluster"
        let user: User
        let head: Int64
        let memory: Int64
        let node: String
        let models: [Model]
        let scanned: Int
        let replicas: [Replica]
    }

    struct Model {
        let name: String
        let checkpoint: String
        let lag: String
    }

    struct Replica {
        let name: String
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
            var replicas: [String: (count: Int, last: Date)] = [:]
            for event in recent {
                let seen = replicas[event.metadata.node]
                replicas[event.metadata.node] = ((seen?.count ?? 0) + 1, max(seen?.last ?? .distantPast, event.recordedAt))
            }
            var models = [Model(name: "memory (this replica)", checkpoint: String(memory), lag: String(head - memory))]
            for projector in storeProjectors {
                let checkpoint = try? await projector.model.checkpoint()
                let name = projector.model.name + (projector.isLeader ? " (projected by this replica)" : "")
                models.append(Model(name: name, checkpoint: checkpoint.map(String.init) ?? "unreachable", lag: checkpoint.map { String(head - $0) } ?? "—"))
            }
            let now = now()
            return page(
                "cluster",
                ClusterPage(
                    user: viewer.user, head: head, memory: memory, node: ledger.options.node, models: models, scanned: recent.count,
                    replicas: replicas.sorted { $0.key < $1.key }.map {
                        Replica(name: $0.key, events: $0.value.count, last: Formatting.relative($0.value.last, now: now))
                    }
                )
            )
        }
    }
}
