#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One stream's row in a shared read model (Redis, MySQL, MongoDB): its current token, or a
/// tombstone once the token was revoked, the app removed, or its last token could not be opened.
public struct ReadModelRow: Sendable, Equatable {
    /// The stream.
    public var stream: StreamID
    /// The token in the clear (nil: a tombstone).
    public var token: String?
    /// When the token expires (nil for a tombstone).
    public var expiresAt: Date?
    /// The log position of the event this row reflects: a row is only ever replaced by a newer one.
    public var position: Int64

    /// Creates a row.
    public init(stream: StreamID, token: String?, expiresAt: Date?, position: Int64) {
        self.stream = stream
        self.token = token
        self.expiresAt = expiresAt
        self.position = position
    }
}

/// Everything a shared read model holds, for `verify`.
public struct ReadModelSnapshot: Sendable {
    /// The last position applied.
    public var checkpoint: Int64
    /// The rows it holds.
    public var rows: [ReadModelRow]
    /// Entries in its namespace that are not rows it could have written (key, and why).
    public var foreign: [(key: String, reason: String)]

    /// Creates a snapshot.
    public init(checkpoint: Int64, rows: [ReadModelRow], foreign: [(key: String, reason: String)] = []) {
        self.checkpoint = checkpoint
        self.rows = rows
        self.foreign = foreign
    }
}

/// A read model kept in a shared store, written only by its projector.
///
/// `apply` must be idempotent: a row replaces the stored one only if its position is newer,
/// and the checkpoint only ever grows (except through `reset`). Implementations throw
/// `LedgerError(.storeUnavailable)` when the store cannot be reached.
public protocol ReadModel: Sendable {
    /// `redis`, `mysql` or `mongo`.
    var name: String { get }
    /// The last position applied.
    func checkpoint() async throws -> Int64
    /// Writes `rows` (at most one per stream) and raises the checkpoint to `checkpoint`, in one
    /// write where the store allows.
    func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws
    /// The row of `stream` and the store's checkpoint, read together. The row is nil when the
    /// store holds none for `stream`, or holds where `stream`'s row would be one that names another
    /// stream or that this model would not have written (see `ReadModelRow.belonging(to:)`).
    func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64)
    /// Everything held (for `verify`).
    func snapshot() async throws -> ReadModelSnapshot
    /// Removes every row and the checkpoint (the start of a replay from zero).
    func reset() async throws
    /// Checks that the store answers and creates its tables or indexes if missing (idempotent).
    func prepare() async throws
    /// Releases the connections and their threads.
    func shutdown() async
}

extension ReadModelRow {
    /// This row if it is `stream`'s, else nil: a row found under another stream's key (a key
    /// two streams share, a row written by hand) is absent for `stream`, never served to it.
    public func belonging(to stream: StreamID) -> ReadModelRow? {
        self.stream == stream ? self : nil
    }

    /// The rows a page of events leaves behind: the last token-affecting event of each stream.
    /// Events that do not change the served token (credentials, failures) change no row; a
    /// token that cannot be opened (unknown key) clears the stream's token, as in memory (an
    /// older token is never served as the current one), and is reported through `unreadable`.
    /// The page is read from its end, so that an event a later one of its stream replaces is
    /// neither decoded nor opened. Rows come in the order of their events.
    public static func rows(
        for events: [RecordedEvent],
        sealer: Sealer,
        unreadable: (RecordedEvent) -> Void = { _ in }
    ) -> [ReadModelRow] {
        var settled = Set<StreamID>()
        var rows: [ReadModelRow] = []
        for event in events.reversed() where event.type.decidesServedToken {
            guard settled.insert(event.stream).inserted else { continue }
            rows.append(row(of: event, sealer: sealer, unreadable: unreadable))
        }
        rows.reverse()
        return rows
    }

    /// The row a token-affecting event makes.
    private static func row(of event: RecordedEvent, sealer: Sealer, unreadable: (RecordedEvent) -> Void) -> ReadModelRow {
        let tombstone = ReadModelRow(stream: event.stream, token: nil, expiresAt: nil, position: event.position)
        guard event.type == .tokenIssued else { return tombstone }
        do {
            let payload = try event.decode(TokenIssued.self)
            let token = try sealer.open(payload.token, for: event.stream, as: .token)
            return ReadModelRow(stream: event.stream, token: token, expiresAt: payload.expiresAt, position: event.position)
        } catch {
            unreadable(event)
            return tombstone
        }
    }
}
