/// Where pighand-token kept its apps: read in pages, so that a table of any size needs a few
/// pages of memory. A cursor is opaque: what a page returned, passed back for the next one.
public protocol PighandStore: Sendable {
    /// The store, its password hidden, for messages.
    var name: String { get }
    /// How many rows there are (for progress), if the store can say.
    func count() async throws -> Int?
    /// Up to `limit` rows after `cursor` (from the start when nil), and the cursor of the next
    /// page (nil: that was the last).
    func rows(after cursor: String?, limit: Int) async throws -> (rows: [PighandRow], next: String?)
    /// Releases the store's connections.
    func close() async
}

/// Rows in memory (tests, and a source for whatever reads them elsewhere).
public struct PighandRows: PighandStore {
    public let name: String
    private let all: [PighandRow]

    /// A store holding `rows`, in that order.
    public init(_ rows: [PighandRow], name: String = "memory") {
        self.all = rows
        self.name = name
    }

    public func count() async throws -> Int? { all.count }

    public func rows(after cursor: String?, limit: Int) async throws -> (rows: [PighandRow], next: String?) {
        let start = cursor.flatMap(Int.init) ?? 0
        let end = min(all.count, start + limit)
        return (Array(all[start..<end]), end < all.count ? String(end) : nil)
    }

    public func close() async {}
}
