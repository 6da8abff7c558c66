public import AsyncHTTPClient
public import TokenLedger

/// The platforms by their `:platform` segment.
public enum PlatformRegistry {
    /// Builds every client; `baseURLs` holds `platforms.<name>.base_url` (and
    /// `dingtalk.oapi_base_url`, `oauth2.token_url`) where set.
    public static func make(baseURLs: [String: String], httpClient: HTTPClient, timeout: Duration) -> [String: any Platform] {
        [
            "wechat": WeChat(baseURL: baseURLs["wechat"] ?? "https://api.weixin.qq.com", httpClient: httpClient, timeout: timeout),
            "wecom": WeCom(baseURL: baseURLs["wecom"] ?? "https://qyapi.weixin.qq.com", httpClient: httpClient, timeout: timeout),
            "feishu": Feishu(baseURL: baseURLs["feishu"] ?? "https://open.feishu.cn", httpClient: httpClient, timeout: timeout),
            "lark": Feishu(baseURL: baseURLs["lark"] ?? "https://open.larksuite.com", httpClient: httpClient, timeout: timeout),
            "dingtalk": DingTalk(
                baseURL: baseURLs["dingtalk"] ?? "https://api.dingtalk.com",
                oapiBaseURL: baseURLs["dingtalk.oapi"] ?? "https://oapi.dingtalk.com",
                httpClient: httpClient,
                timeout: timeout
            ),
            "douyin": Douyin(baseURL: baseURLs["douyin"] ?? "https://developer.toutiao.com", httpClient: httpClient, timeout: timeout),
            "alipay": Alipay(gatewayURL: baseURLs["alipay"] ?? "https://openapi.alipay.com/gateway.do", httpClient: httpClient, timeout: timeout),
            "oauth2": OAuth2(defaultTokenURL: baseURLs["oauth2.token_url"], httpClient: httpClient, timeout: timeout),
        ]
    }
}
