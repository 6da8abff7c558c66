/// What an import did (or, in a dry run, would do), for the summary at its end.
public struct ImportSummary: Sendable, Equatable {
    /// Rows read from the store.
    public var rows = 0
    /// Apps whose secret was registered or changed (`credentials.set` appended).
    public var appsRegistered = 0
    /// Apps whose secret was already registered as it is.
    public var appsUnchanged = 0
    /// Tokens carried over (`token.issued`, reason `imported`).
    public var tokensCarried = 0
    /// Tokens the ledger already serves (a second import).
    public var tokensAlreadyCurrent = 0
    /// Tokens not carried over, by why (the app is registered all the same).
    public var tokensLeft: [String: Rows] = [:]
    /// Rows not imported at all, by why.
    public var rowsSkipped: [String: Rows] = [:]

    /// Rows counted under one reason, the first few named: a table of any size keeps a summary of
    /// a few lines.
    public struct Rows: Sendable, Equatable {
        /// How many rows.
        public var count = 0
        /// The ids of the first `Self.named` rows.
        public var ids: [String] = []
        /// How many ids are kept.
        public static let named = 10

        /// Counts the row `id`.
        mutating func add(_ id: String) {
            count += 1
            if ids.count < Self.named { ids.append(id) }
        }
    }

    /// Creates an empty summary.
    public init() {}

    /// Whether anything was (or would be) appended.
    public var appended: Bool { appsRegistered + tokensCarried > 0 }

    /// The summary's lines; the first rows of each reason are named.
    public func lines(dryRun: Bool) -> [String] {
        let verb = dryRun ? "would be " : ""
        var lines = [
            "rows read: \(rows)",
            "apps: \(appsRegistered + appsUnchanged) (secret \(verb)registered or changed: \(appsRegistered), already registered: \(appsUnchanged))",
            "tokens carried over: \(tokensCarried)\(dryRun ? " (dry run)" : "") (already current: \(tokensAlreadyCurrent))",
        ]
        func section(_ title: String, _ reasons: [String: Rows]) {
            let total = reasons.values.reduce(0) { $0 + $1.count }
            lines.append("\(title): \(total)")
            for (reason, rows) in reasons.sorted(by: { $0.key < $1.key }) {
                let named = rows.ids.joined(separator: ", ") + (rows.count > rows.ids.count ? ", …" : "")
                lines.append("  \(rows.count) \(reason) (row \(named))")
            }
        }
        section("tokens not carried over (the app is registered; its first read or the scheduler fetches one)", tokensLeft)
        section("rows skipped (nothing imported)", rowsSkipped)
        return lines
    }
}
