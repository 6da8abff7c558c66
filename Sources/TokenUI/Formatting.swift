import Foundation

/// How the pages write times, durations and links.
enum Formatting {
    /// `in 1h 52m` or `3m ago`, relative to `now`.
    static func relative(_ date: Date, now: Date) -> String {
        let seconds = date.timeIntervalSince(now)
        let text = duration(abs(seconds))
        return seconds >= 0 ? "in \(text)" : "\(text) ago"
    }

    /// `2d 3h`, `1h 52m`, `4m 10s`, `12s`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (days, hours, minutes, rest) = (total / 86400, total % 86400 / 3600, total % 3600 / 60, total % 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        if minutes > 0 { return "\(minutes)m \(rest)s" }
        return "\(rest)s"
    }

    /// ISO 8601 with seconds, UTC.
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
    }

    /// A path segment or query value, percent-encoded (everything but unreserved characters).
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `/ui?project=…&state=…` with the non-empty parameters, in order.
    static func link(_ path: String, _ parameters: [(String, String?)]) -> String {
        let query = parameters.compactMap { name, value in value.flatMap { $0.isEmpty ? nil : "\(name)=\(encode($0))" } }
        return query.isEmpty ? path : path + "?" + query.joined(separator: "&")
    }
}
