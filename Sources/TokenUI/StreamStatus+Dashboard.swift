import Foundation
import TokenLedger

/// How the dashboard names and explains a stream's state (`StreamStatus`, the ledger's own view,
/// shared with `GET /token/…/status`).
extension StreamStatus.State {
    /// The name shown.
    var label: String {
        switch self {
        case .removed: "removed"
        case .unreadable: "unreadable"
        case .parked: "parked"
        case .failing: "failing"
        case .noToken: "no token yet"
        case .fresh: "fresh"
        case .stale: "stale-served"
        case .expired: "expired"
        }
    }

    /// The style of its badge.
    var style: String {
        switch self {
        case .removed, .noToken: "none"
        case .unreadable: "failing"
        case .expired: "stale"
        default: rawValue
        }
    }
}

extension StreamStatus {
    /// Why a failing or parked app is: our code, then the platform's own (`upstream_busy: -1 system busy`).
    var error: String? {
        if state == .unreadable { return "an event of this app cannot be opened with the configured keys" }
        guard state == .failing || state == .parked, let failure = lastFailure else { return nil }
        var text = failure.code
        if let code = failure.platformCode { text += ": \(code)" }
        if let message = failure.platformMessage { text += failure.platformCode == nil ? ": \(message)" : " \(message)" }
        return text
    }

    /// `12 / 2000 calls, 1 / 20 forced` for today, or a dash without budgets.
    var budgetText: String {
        var parts: [String] = []
        if let limit = budget.callLimit { parts.append("\(budget.calls) / \(limit) calls") }
        if let limit = budget.forcedLimit { parts.append("\(budget.forced) / \(limit) forced") }
        return parts.isEmpty ? "\(budget.calls) calls" : parts.joined(separator: ", ")
    }
}
