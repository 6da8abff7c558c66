import HTTPTypes

extension HTTPField.Name {
    /// `X-Frame-Options`: the pages are never framed.
    static let frameOptions = Self("X-Frame-Options")!
    /// `Referrer-Policy`: app ids in URLs are not sent elsewhere.
    static let referrerPolicy = Self("Referrer-Policy")!
}
