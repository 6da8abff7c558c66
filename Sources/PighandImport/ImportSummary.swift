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
    /// Tokens not carried over, by why, each with the ids of its rows (the app is registered all the same).
    public var tokensLeft: [String: [String]] = [:]
    /// Rows not imported at all, by why, each with the ids of its rows.
    public var rowsSkipped: [String: [String]] = [:]

    /// Creates an empty summary.
    public init() {}

    /// Whether anything was (or would be) appended.
    public var appended: Bool { appsRegistered + tokensCarried > 0 }

    /// The summary's lines; at most `listed` row ids are named per reason.
    public func lines(dryRun: Bool, listed: Int = 10) -> [String] {
        let verb = dryRun ? "would be " : ""
        var lines = [
            "rows read: \(rows)",
            "apps: \(appsRegistered + appsUnchanged) (secret \(verb)registered or changed: \(appsRegistered), already registered: \(appsUnchanged))",
            "tokens carried over: \(tokensCarried)\(dryRun ? " (dry run)" : "") (already current: \(tokensAlreadyCurrent))",
        ]
        func section(_ title: String, _ reasons: [String: [String]]) {
            let total = reasons.values.reduce(0) { $0 + $1.count }
            lines.append("\(title): \(total)")
            for (reason, ids) in reasons.sorted(by: { $0.key < $1.key }) {
                let named = ids.prefix(listed).joined(separator: ", ") + (ids.count > listed ? ", …" : "")
                lines.append("  \(ids.count) \(reason) (row \(named))")
            }
        }
        section("tokens not carried over (the app is registered; its first read or the scheduler fetches one)", tokensLeft)
        section("rows skipped (nothing imported)", rowsSkipped)
        return lines
    }
}
