#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Where one webhook stands: the last position delivered (or passed over), and whether it is
/// parked after a delivery that kept failing. Shared by every replica, so that whichever leads
/// the webhook goes on from here, and `tokenledger webhooks resume` reaches the leader.
public struct WebhookCheckpoint: Sendable, Equatable {
    /// The webhook's id.
    public var id: String
    /// The last position delivered or passed over.
    public var position: Int64
    /// When delivery was parked (nil: delivering).
    public var parkedAt: Date?
    /// Why (the last attempt's failure), while parked.
    public var parkedReason: String?

    /// Creates a checkpoint.
    public init(id: String, position: Int64, parkedAt: Date? = nil, parkedReason: String? = nil) {
        self.id = id
        self.position = position
        self.parkedAt = parkedAt
        self.parkedReason = parkedReason
    }

    /// Whether delivery waits for `webhooks resume`.
    public var isParked: Bool { parkedAt != nil }
}

/// The webhooks' checkpoints, in the log's own database (PostgreSQL: `webhook_checkpoints`).
///
/// Moves are compare-and-set on the position, so that a leader that lost its place (a resume
/// moved the checkpoint, another leader went on) notices instead of writing over it.
public protocol WebhookCheckpoints: Sendable {
    /// The checkpoint of `id`; one that has none yet is created at the log's head (a new
    /// webhook is told what happens from now on; `resume --from` replays older events).
    func checkpoint(of id: String) async throws -> WebhookCheckpoint
    /// Moves `id` from `expected` to `position`; false when it was not at `expected`.
    func advance(_ id: String, from expected: Int64, to position: Int64) async throws -> Bool
    /// Parks `id` at `expected` (the last position delivered) for `reason`; false when it was
    /// not at `expected`.
    func park(_ id: String, at expected: Int64, reason: String) async throws -> Bool
    /// Lifts the parking of `id` and, with `from`, moves it so that delivery starts at `from`.
    /// Nil when `id` has no checkpoint and no `from` was given.
    func resume(_ id: String, from: Int64?) async throws -> WebhookCheckpoint?
    /// Every checkpoint, by id.
    func all() async throws -> [WebhookCheckpoint]
}
