/// One app on one platform in one project: the unit of the log (`project/platform/appid`).
///
/// Every segment is validated on construction, so a `StreamID` that exists is safe to use as a
/// Redis key part, a SQL value or a path segment without further escaping decisions.
public struct StreamID: Hashable, Sendable, CustomStringConvertible {
    /// The project the app belongs to (the original service's `projectId`).
    public let project: String
    /// The platform's name, e.g. `wechat`.
    public let platform: String
    /// The platform's id of the app (WeChat appid, Feishu app_id, …).
    public let appid: String

    /// The longest segment accepted; platform ids are far shorter, this only bounds abuse.
    public static let maximumSegmentLength = 128

    /// Creates a stream id, rejecting empty, over-long, non-printable or path-like segments.
    public init(project: String, platform: String, appid: String) throws(LedgerError) {
        try Self.validate(project, name: "project")
        try Self.validate(platform, name: "platform")
        try Self.validate(appid, name: "appid")
        self.project = project
        self.platform = platform
        self.appid = appid
    }

    /// Parses the `project/platform/appid` form used in the log.
    public init(parsing text: String) throws(LedgerError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LedgerError(.invalidInput, "a stream is written project/platform/appid, got \(parts.count) segment(s)")
        }
        try self.init(project: String(parts[0]), platform: String(parts[1]), appid: String(parts[2]))
    }

    /// `project/platform/appid`.
    public var description: String { "\(project)/\(platform)/\(appid)" }

    /// Letters, digits and `-_.:@` only: what platforms use for app ids, and nothing that a
    /// URL, a shell, Redis or SQL treats specially.
    private static func validate(_ segment: String, name: String) throws(LedgerError) {
        guard !segment.isEmpty else {
            throw LedgerError(.invalidInput, "\(name) is empty")
        }
        guard segment.utf8.count <= maximumSegmentLength else {
            throw LedgerError(.invalidInput, "\(name) is longer than \(maximumSegmentLength) characters")
        }
        guard segment != ".", segment != ".." else {
            throw LedgerError(.invalidInput, "\(name) may not be '.' or '..'")
        }
        for byte in segment.utf8 where !isAllowed(byte) {
            throw LedgerError(.invalidInput, "\(name) may contain only letters, digits and - _ . : @")
        }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}
