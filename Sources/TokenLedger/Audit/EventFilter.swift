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
