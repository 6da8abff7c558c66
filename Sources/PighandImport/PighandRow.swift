/// One row of pighand-token's `token_platform` (MySQL table or MongoDB collection), every field
/// as the store held it: nothing is checked or guessed here (`PighandImporter` judges the row).
public struct PighandRow: Sendable, Equatable {
    /// The row's id in its store (MySQL `id`, MongoDB `_id`), for reports.
    public var id: String
    /// `project_id` (a number in pighand-token's schema), as text.
    public var projectID: String?
    /// `platform`, as pighand-token spelled it (`wechat`, `feishu_app_internal`, …).
    public var platform: String?
    /// `appid`.
    public var appid: String?
    /// `secret`.
    public var secret: String?
    /// `access_token`: the token pighand-token was handing out, or nil.
    public var accessToken: String?
    /// `expires_time`, as text: seconds since 1970 at which pighand-token stopped serving the token
    /// (the platform's expiry minus its `token_premature_failure`), or nil.
    public var expiresTime: String?

    /// Creates a row.
    public init(
        id: String, projectID: String?, platform: String?, appid: String?, secret: String?, accessToken: String?, expiresTime: String?
    ) {
        self.id = id
        self.projectID = projectID
        self.platform = platform
        self.appid = appid
        self.secret = secret
        self.accessToken = accessToken
        self.expiresTime = expiresTime
    }
}
