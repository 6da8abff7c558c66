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
