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
