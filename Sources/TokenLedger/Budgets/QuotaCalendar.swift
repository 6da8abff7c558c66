#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The day a platform counts its quotas in: WeChat's turns at midnight China time (UTC+8, no
/// daylight saving), as do those of the other Chinese platforms; Lark and any OAuth2 server are
/// counted in UTC days (neither documents a daily quota).
///
/// Days are numbered (days since 1970 in the platform's zone) so that a count folded from the
/// log compares with "today" by one integer, the same on every replica.
public enum QuotaCalendar {
    /// Seconds east of UTC at which `platform`'s day turns.
    public static func utcOffset(of platform: String) -> TimeInterval {
        switch platform {
        case "wechat", "wecom", "feishu", "dingtalk", "douyin", "alipay": 8 * 3600
        default: 0
        }
    }

    /// The number of `platform`'s day that contains `date`.
    public static func day(of date: Date, platform: String) -> Int {
        Int(((date.timeIntervalSince1970 + utcOffset(of: platform)) / 86400).rounded(.down))
    }

    /// When `platform`'s day number `day` begins.
    public static func start(ofDay day: Int, platform: String) -> Date {
        Date(timeIntervalSince1970: Double(day) * 86400 - utcOffset(of: platform))
    }
}
