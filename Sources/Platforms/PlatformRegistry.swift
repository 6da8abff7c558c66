public import AsyncHTTPClient
public import TokenLedger

/// The platforms by their `:platform` segment.
public enum PlatformRegistry {
    /// Builds every client; `baseURLs` holds `platforms.<name>.base_url` where set.
    public static func make(baseURLs: [String: String], httpClient: HTTPClient, timeout: Duration) -> [String: any Platform] {
        [
            "wechat": WeChat(baseURL: baseURLs["wechat"] ?? "https://api.weixin.qq.com", httpClient: httpClient, timeout: timeout)
        ]
    }
}
