#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One way a shared read model differs from the state folded from the log.
public struct ReadModelDifference: Sendable, Equatable, CustomStringConvertible {
    /// The read model.
    public var readModel: String
    /// The stream or key concerned (`checkpoint` for the model's checkpoint).
    public var key: String
    /// What is wrong.
    public var problem: String

    /// Creates a difference.
    public init(readModel: String, key: String, problem: String) {
        self.readModel = readModel
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(readModel) \(key): \(problem)" }
}

/// Compares a read model's snapshot with the log (`tokenledger verify`).
public enum ReadModelVerifier {
    /// The differences between `snapshot` and `expected`, the streams folded from the log up to
    /// position `through`. `logHead` is the log's last position when the snapshot was taken: rows
    /// between `through` and it were written meanwhile and are not judged; rows beyond it cannot
    /// come from this log. A token past its expiry may be missing (stores expire them).
    public static func differences(
        readModel: String,
        snapshot: ReadModelSnapshot,
        expected: [StreamID: StreamState],
        through: Int64,
        logHead: Int64,
        now: Date
    ) -> [ReadModelDifference] {
        var differences: [ReadModelDifference] = []
        func report(_ key: String, _ problem: String) {
            differences.append(ReadModelDifference(readModel: readModel, key: key, problem: problem))
        }
        if snapshot.checkpoint > logHead {
            report("checkpoint", "at position \(snapshot.checkpoint), ahead of the log's head \(logHead) (the log was reset, or another log wrote here)")
        } else if snapshot.checkpoint < through {
            report("checkpoint", "at position \(snapshot.checkpoint), behind the log's head \(through)")
        }
        for (key, reason) in snapshot.foreign {
            report(key, "not written by TokenLedger: \(reason)")
        }
        var seen = Set<StreamID>()
        for row in snapshot.rows {
            let key = row.stream.description
            seen.insert(row.stream)
            if row.position > logHead {
                report(key, "position \(row.position) is newer than the log's head \(logHead)")
                continue
            }
            if row.position > through { continue }
            guard let state = expected[row.stream] else {
                report(key, "the log has no such stream")
                continue
            }
            guard let token = state.token else {
                if row.token != nil { report(key, "holds a token the log revoked or removed at position \(state.position)") }
                continue
            }
            guard let value = row.token, let expiresAt = row.expiresAt else {
                report(key, "is a tombstone but the log's token of position \(token.position) is current")
                continue
            }
            if row.position != token.position {
                report(key, "holds the token of position \(row.position), the log's is of position \(token.position)")
            } else if value != token.value {
                report(key, "holds another token than the log's of position \(token.position)")
            } else if abs(expiresAt.timeIntervalSince(token.expiresAt)) > 0.001 {
                report(key, "expires at \(expiresAt), the log says \(token.expiresAt)")
            }
        }
        for (stream, state) in expected where !seen.contains(stream) {
            guard let token = state.token, token.expiresAt > now, state.position <= through else { continue }
            report(stream.description, "missing: the log's token of position \(token.position) expires at \(token.expiresAt)")
        }
        return differences.sorted { ($0.key, $0.problem) < ($1.key, $1.problem) }
    }
}
