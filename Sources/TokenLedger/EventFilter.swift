/// Which events an audit query wants; `nil` fields match everything.
public struct EventFilter: Sendable, Equatable {
    /// Only this project.
    public var project: String?
    /// Only this platform.
    public var platform: String?
    /// Only this event type.
    public var type: EventType?

    /// Creates a filter.
    public init(project: String? = nil, platform: String? = nil, type: EventType? = nil) {
        self.project = project
        self.platform = platform
        self.type = type
    }

    /// Whether `event` passes.
    public func matches(_ event: RecordedEvent) -> Bool {
        (project == nil || event.stream.project == project) && (platform == nil || event.stream.platform == platform)
            && (type == nil || event.type == type)
    }
}

extension Ledger {
    /// The global feed after `position`, filtered: up to `limit` events, scanning at most
    /// `scanLimit` so that a rare filter cannot make one call read the whole log. `next` is the
    /// position to pass as `after` for the following page.
    public func events(after position: Int64, limit: Int, filter: EventFilter, scanLimit: Int = 10_000) async throws -> (events: [RecordedEvent], next: Int64) {
        var cursor = position
        var found: [RecordedEvent] = []
        var scanned = 0
        while found.count < limit, scanned < scanLimit {
            let page = try await log.readAll(after: cursor, limit: min(1000, scanLimit - scanned))
            guard !page.isEmpty else { break }
            for event in page {
                cursor = event.position
                scanned += 1
                if filter.matches(event) {
                    found.append(event)
                    if found.count == limit { break }
                }
            }
        }
        return (found, cursor)
    }
}
