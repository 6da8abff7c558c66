import Foundation
import TokenLedger

/// The SVG timeline of one app over a window: a bar per token from issue to expiry with its
/// freshness margin shaded, and marks for failed refreshes, forced and compare refreshes, secret
/// changes and revocations. Built here as markup (text from events is escaped).
///
/// The window runs `hours` back from now and a quarter of that ahead, so that the current token's
/// coming expiry shows.
struct Timeline {
    let start: Date
    let end: Date
    let now: Date
    let width = 960.0
    let height = 150.0
    let padding = 20.0

    /// The markup for `events` (oldest first) of `stream`.
    func svg(_ events: [RecordedEvent], stream: StreamID, freshness: Freshness) -> String {
        var parts: [String] = []
        parts.append(axis())
        parts.append("<line class=\"now\" x1=\"\(x(now))\" y1=\"16\" x2=\"\(x(now))\" y2=\"140\" stroke=\"#1d2330\" stroke-dasharray=\"3 3\"><title>now</title></line>")
        var tokens = 0
        for event in events {
            let at = event.recordedAt
            switch event.type {
            case .tokenIssued:
                guard let issued = try? event.decode(TokenIssued.self) else { continue }
                let life = issued.expiresAt.timeIntervalSince(at)
                if issued.expiresAt > start, at <= end {
                    let margin = freshness.margin(platform: stream.platform, life: life)
                    parts.append(bar(from: at, to: issued.expiresAt, margin: margin, row: tokens % 2, position: event.position))
                }
                tokens += 1
                if issued.reason == .forced || issued.reason == .compare, inWindow(at) {
                    parts.append("<circle class=\"forced\" cx=\"\(x(at))\" cy=\"36\" r=\"4\"><title>\(issued.reason.rawValue) refresh</title></circle>")
                }
            case .refreshFailed:
                guard inWindow(at), let failed = try? event.decode(RefreshFailed.self), failed.code != RefreshFailed.superseded else { continue }
                let code = failed.platformCode.map { "\(failed.code) \($0)" } ?? failed.code
                parts.append(
                    "<g class=\"failure\"><line class=\"fail\" x1=\"\(x(at))\" y1=\"28\" x2=\"\(x(at))\" y2=\"120\"/>"
                        + "<text x=\"\(x(at) + 2)\" y=\"132\" fill=\"#b91c1c\">\(Self.escape(failed.platformCode ?? failed.code))</text>"
                        + "<title>\(Self.escape(code))</title></g>"
                )
            case .credentialsSet:
                guard inWindow(at) else { continue }
                let (cx, cy) = (x(at), 36.0)
                parts.append(
                    "<polygon class=\"secret\" points=\"\(cx),\(cy - 5) \(cx + 5),\(cy) \(cx),\(cy + 5) \(cx - 5),\(cy)\"><title>secret set</title></polygon>"
                )
            case .tokenRevoked, .credentialsRemoved:
                guard inWindow(at) else { continue }
                parts.append("<line class=\"revoked\" x1=\"\(x(at))\" y1=\"28\" x2=\"\(x(at))\" y2=\"120\"><title>\(event.type.rawValue)</title></line>")
            }
        }
        return "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"token timeline\">" + parts.joined() + "</svg>"
    }

    private func bar(from issued: Date, to expires: Date, margin: Double, row: Int, position: Int64) -> String {
        let y = 50.0 + Double(row) * 30
        let (left, right) = (x(issued), x(expires))
        let stale = x(expires.addingTimeInterval(-margin))
        let title = "token issued \(Formatting.iso(issued)), expires \(Formatting.iso(expires))"
        return "<g><rect class=\"bar\" data-position=\"\(position)\" x=\"\(left)\" y=\"\(y)\" width=\"\(max(right - left, 1))\" height=\"22\"><title>\(title)</title></rect>"
            + "<rect class=\"margin\" x=\"\(stale)\" y=\"\(y)\" width=\"\(max(right - stale, 0))\" height=\"22\"><title>freshness margin</title></rect></g>"
    }

    private func axis() -> String {
        var marks = "<line x1=\"\(padding)\" y1=\"20\" x2=\"\(width - padding)\" y2=\"20\" stroke=\"#9ca3af\"/>"
        let span = end.timeIntervalSince(start)
        for step in 0...5 {
            let at = start.addingTimeInterval(span * Double(step) / 5)
            let label = at.formatted(.iso8601.time(includingFractionalSeconds: false)).prefix(5)
            marks += "<line x1=\"\(x(at))\" y1=\"16\" x2=\"\(x(at))\" y2=\"140\" stroke=\"#e5e7eb\"/>"
            marks += "<text x=\"\(x(at) - 14)\" y=\"12\" fill=\"#6b7280\">\(label)</text>"
        }
        return marks
    }

    /// A window of `hours` back from `now` and a quarter of that ahead.
    init(hours: Int, now: Date) {
        let span = Double(hours) * 3600
        self.start = now.addingTimeInterval(-span)
        self.end = now.addingTimeInterval(span / 4)
        self.now = now
    }

    private func inWindow(_ date: Date) -> Bool { date >= start && date <= end }

    /// The horizontal coordinate of `date`, clamped to the window.
    private func x(_ date: Date) -> Double {
        let span = end.timeIntervalSince(start)
        let fraction = min(max(date.timeIntervalSince(start) / span, 0), 1)
        return ((padding + fraction * (width - 2 * padding)) * 10).rounded() / 10
    }

    /// Text for SVG/HTML content.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
