public import AsyncHTTPClient
public import TokenLedger

/// The platforms by their `:platform` segment.
public enum PlatformRegistry {
    /// The HTTP client for platform calls: like `HTTPClient.shared` (which follows up to 20
    /// redirects), but following none, so that a token call is never carried, secret and all, to
    /// an address nobody checked. It lives as long as the process, as `HTTPClient.shared` does.
    public static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Every platform's `:platform` segment, in the order the README lists them: the one list
    /// that configuration (`platforms.<name>.*`) and `make` share.
    public static let names = ["wechat", "wecom", "feishu", "lark", "dingtalk", "douyin", "alipay", "oauth2"]

    /// Builds every client; `baseURLs` holds `platforms.<name>.base_url` (and
    /// `dingtalk.oapi_base_url`, `oauth2.token_url`) where set; `tokenURLPolicy` judges the token
    /// URLs that apps' options name.
    public static func make(
        baseURLs: [String: String],
        tokenURLPolicy: TokenURLPolicy = TokenURLPolicy(),
        httpClient: HTTPClient,
        timeout: Duration
    ) -> [String: any Platform] {
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
            "oauth2": OAuth2(defaultTokenURL: baseURLs["oauth2.token_url"], urlPolicy: tokenURLPolicy, httpClient: httpClient, timeout: timeout),
        ]
    }
}
