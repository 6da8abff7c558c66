#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TokenLedger

/// What a row of an import asks for, decided in row order before anything is appended (whether it
/// is skipped, and whether it repeats an earlier row of its app), and how the row is counted and
/// reported, in row order, once what it asked for was done.
enum RowPlan: Sendable {
    /// Nothing is imported from the row: the summary's reason, what to report.
    case skipped(reason: String, line: String)
    /// The row's app: its secret is registered (unless an earlier row did) and its token carried over.
    case app(App)

    /// An app row: its stream, the secret and options to register, the token to carry over.
    struct App: Sendable {
        var stream: StreamID
        var secret: String
        var options: [String: String]
        /// The earlier row of this app with the same secret (nil: this row registers the secret).
        var duplicateOf: String?
        var token: TokenPlan
    }

    /// The row's token: carried over (as the ledger decides), or left with a reason and maybe a line.
    enum TokenPlan: Sendable {
        case carry(token: String, expiresAt: Date)
        case left(reason: String, line: String?)
    }

    /// What was done for an app row.
    struct Outcome: Sendable {
        /// Whether a `credentials.set` was (or would be) appended; false for a duplicate row.
        var registered = false
        /// Whether the ledger held a secret for the app before the row registered its own.
        var held = false
        /// What the ledger decided about the row's token (nil: it had none to carry over).
        var adoption: TokenAdoption?
    }

    /// Counts row `id` into `summary` given what was done (`outcome`, for an app row); returns
    /// what to report about it, nil when it changes nothing.
    func tally(id: String, _ outcome: Outcome, into summary: inout ImportSummary, dryRun: Bool) -> String? {
        let app: App
        switch self {
        case .skipped(let reason, let line):
            summary.rowsSkipped[reason, default: ImportSummary.Rows()].add(id)
            return line
        case .app(let value):
            app = value
        }
        var said: [String] = []
        if let first = app.duplicateOf {
            said.append("duplicate of row \(first)")
        } else if outcome.registered {
            summary.appsRegistered += 1
            // An app the ledger already knew with other credentials: pighand-token's replace them.
            said.append(
                outcome.held
                    ? "\(dryRun ? "would change" : "changed") the secret or options of \(app.stream) (the ledger held others)"
                    : "\(dryRun ? "would register" : "registered") the secret of \(app.stream)"
            )
        } else {
            summary.appsUnchanged += 1
        }
        switch app.token {
        case .left(let reason, let line):
            summary.tokensLeft[reason, default: ImportSummary.Rows()].add(id)
            if let line { said.append(line) }
        case .carry(_, let expiresAt):
            // Decided for every row with a token to carry over, once its row was done.
            if let decision = outcome.adoption, let line = Self.tally(id: id, decision, expiresAt: expiresAt, into: &summary, dryRun: dryRun) {
                said.append(line)
            }
        }
        return said.isEmpty ? nil : said.joined(separator: "; ")
    }

    /// Counts what the ledger decided about a token; what to report, nil when nothing is worth saying.
    private static func tally(id: String, _ decision: TokenAdoption, expiresAt: Date, into summary: inout ImportSummary, dryRun: Bool) -> String? {
        let expiry = iso(expiresAt)
        switch decision {
        case .recorded:
            summary.tokensCarried += 1
            return "\(dryRun ? "would carry" : "carried") over its token (expires \(expiry))"
        case .alreadyCurrent:
            summary.tokensAlreadyCurrent += 1
            return nil
        case .olderThanCurrent(let current):
            summary.tokensLeft["token older than the ledger's current one", default: ImportSummary.Rows()].add(id)
            return "token not carried over: it expires \(expiry), the ledger's current token \(iso(current))"
        case .expired:
            summary.tokensLeft["expired token", default: ImportSummary.Rows()].add(id)
            return "token not carried over: it expired \(expiry)"
        }
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
