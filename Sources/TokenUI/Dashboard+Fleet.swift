import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import Mustache
import TokenHTTP
import TokenLedger

/// `GET /ui`: every app the viewer may see, counted per state, filtered and paged.
extension Dashboard {
    struct FleetPage {
        let title = "Fleet"
        let user: User
        let total: Int
        let allHref: String
        let counts: [StateCount]
        let projects: [Choice]
        let platforms: [Choice]
        let states: [Choice]
        let matching: Int
        let page: Int
        let pages: Int
        let rows: [Row]
        let previous: String?
        let next: String?
    }

    struct StateCount {
        let key: String
        let style: String
        let label: String
        let count: Int
        let href: String
    }

    struct Choice {
        let value: String
        let label: String
        let selected: Bool
    }

    struct Row {
        let stream: String
        let project: String
        let platform: String
        let appid: String
        let href: String
        let state: String
        let style: String
        let stateLabel: String
        let error: String?
        let expires: String
        let expiresISO: String
        let renews: String
        let renewsISO: String
        let refreshed: String
        let refreshedISO: String
        let reason: String
        let node: String
        let latency: String
        /// Today's upstream calls and forced refreshes against the platform's budgets.
        let budget: String
    }

    @Sendable func fleet(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await signedIn(request) { viewer in
            let query = request.uri.queryParameters
            let project = query.get("project") ?? ""
            let platform = query.get("platform") ?? ""
            let stateFilter = StreamStatus.State(rawValue: query.get("state") ?? "")
            let pageNumber = max(Int(query.get("page") ?? "") ?? 1, 1)
            return page("fleet", fleetPage(viewer, project: project, platform: platform, state: stateFilter, page: pageNumber))
        }
    }

    /// The page's contents: counts over the project and platform filters, rows over all three.
    func fleetPage(_ viewer: Viewer, project: String, platform: String, state: StreamStatus.State?, page requested: Int) -> FleetPage {
        let now = now()
        let visible = ledger.projector.model.allStates().filter { access.maySee(viewer.key, project: $0.key.project) }
        let selected = visible.filter { stream, _ in
            (project.isEmpty || stream.project == project) && (platform.isEmpty || stream.platform == platform)
        }
        let statuses = selected.map { ledger.reader.status(of: $0.key, state: $0.value) }
        var counts: [StreamStatus.State: Int] = [:]
        for status in statuses { counts[status.state, default: 0] += 1 }
        let matching = statuses.filter { state == nil || $0.state == state }.sorted { a, b in
            (a.stream.project, a.stream.platform, a.stream.appid) < (b.stream.project, b.stream.platform, b.stream.appid)
        }
        let pages = max((matching.count + Self.pageSize - 1) / Self.pageSize, 1)
        let number = min(requested, pages)
        let slice = matching.dropFirst((number - 1) * Self.pageSize).prefix(Self.pageSize)
        func link(state: String?, page: Int? = nil) -> String {
            Formatting.link("/ui", [("project", project), ("platform", platform), ("state", state), ("page", page.map(String.init))])
        }
        return FleetPage(
            user: viewer.user,
            total: statuses.count,
            allHref: link(state: nil),
            counts: StreamStatus.State.allCases.compactMap { key in
                counts[key].map { StateCount(key: key.rawValue, style: key.style, label: key.label, count: $0, href: link(state: key.rawValue)) }
            },
            projects: Set(visible.keys.map(\.project)).sorted().map { Choice(value: $0, label: $0, selected: $0 == project) },
            platforms: Set(visible.keys.map(\.platform)).sorted().map { Choice(value: $0, label: $0, selected: $0 == platform) },
            states: StreamStatus.State.allCases.map { Choice(value: $0.rawValue, label: $0.label, selected: $0 == state) },
            matching: matching.count,
            page: number,
            pages: pages,
            rows: slice.map { row($0, lastRefresh: visible[$0.stream]?.lastRefresh, now: now) },
            previous: number > 1 ? link(state: state?.rawValue, page: number - 1) : nil,
            next: number < pages ? link(state: state?.rawValue, page: number + 1) : nil
        )
    }

    func row(_ status: StreamStatus, lastRefresh refresh: LastRefresh?, now: Date) -> Row {
        let renews = status.nextRenewal.map { $0 <= now ? "now" : Formatting.relative($0, now: now) }
            ?? (status.state == .parked ? "after a new secret" : "—")
        return Row(
            stream: status.stream.description,
            project: status.stream.project,
            platform: status.stream.platform,
            appid: status.stream.appid,
            href: Self.appPath(status.stream),
            state: status.state.rawValue,
            style: status.state.style,
            stateLabel: status.state.label,
            error: status.error,
            expires: status.expiresAt.map { Formatting.relative($0, now: now) } ?? "—",
            expiresISO: status.expiresAt.map(Formatting.iso) ?? "",
            renews: renews,
            renewsISO: status.nextRenewal.map(Formatting.iso) ?? "",
            refreshed: refresh.map { Formatting.relative($0.at, now: now) } ?? "—",
            refreshedISO: refresh.map { Formatting.iso($0.at) } ?? "",
            reason: refresh?.reason.rawValue ?? "",
            node: refresh?.node ?? "",
            latency: refresh.map { "\($0.upstreamLatencyMs) ms" } ?? "",
            budget: status.budgetText
        )
    }
}

/// A fleet row's fields by name: the template looks each one up per row, and Mustache's default
/// lookup (reflection through `Mirror`) took two thirds of the fleet page's time under `perf`.
extension Dashboard.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "stream": stream
        case "project": project
        case "platform": platform
        case "appid": appid
        case "href": href
        case "state": state
        case "style": style
        case "stateLabel": stateLabel
        case "error": error
        case "expires": expires
        case "expiresISO": expiresISO
        case "renews": renews
        case "renewsISO": renewsISO
        case "refreshed": refreshed
        case "refreshedISO": refreshedISO
        case "reason": reason
        case "node": node
        case "latency": latency
        case "budget": budget
        default: nil
        }
    }
}
