/// pighand-token's platform names, as it spelled them in `token_platform.platform`, and what
/// each becomes in TokenLedger. Names it never had are reported, not guessed.
public enum PighandPlatform {
    /// The TokenLedger platform and options a pighand-token platform name becomes.
    public struct Target: Sendable, Equatable {
        /// The platform segment in TokenLedger.
        public var platform: String
        /// The app options that give the same token.
        public var options: [String: String]
    }

    /// The TokenLedger platform for `name`, or why there is none.
    public static func target(of name: String) -> Result<Target, Refusal> {
        switch name {
        // The classic `GET /cgi-bin/token`: TokenLedger asks for the stable token instead, which
        // does not invalidate the classic one pighand-token may still be handing out.
        case "wechat": .success(Target(platform: "wechat", options: [:]))
        // The first versions' Feishu app: its tenant token (TokenLedger's default).
        case "feishu": .success(Target(platform: "feishu", options: [:]))
        // `app_access_token/internal`.
        case "feishu_app_internal": .success(Target(platform: "feishu", options: ["token": "app"]))
        case "feishu_user_web", "feishu_user_applet":
            .failure(Refusal("platform '\(name)' is a user's token, not an app's: TokenLedger keeps app tokens only"))
        case "alipay":
            .failure(Refusal(
                "platform 'alipay' was never finished in pighand-token; TokenLedger's alipay needs the ISV app and merchant (isvAppId:merchant) and the app's RSA private key: register it with PUT …/credentials"
            ))
        default:
            .failure(Refusal("unknown platform '\(name)' (pighand-token knew wechat, feishu, feishu_app_internal)"))
        }
    }

    /// Why a row cannot be imported.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// What the operator is told.
        public var description: String

        init(_ description: String) { self.description = description }
    }
}
