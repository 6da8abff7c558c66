extension AccessControl {
    /// The key a connection presented last, with the header that presented it: the connection's
    /// next requests presenting the same header (compared in constant time) skip the hash.
    struct RememberedKey {
        let header: String
        let key: Key
    }

    /// The configured key `header` presents (nil: no header, or no such key), remembered for the
    /// connection in `remembered`; counts nothing.
    func key(presentedIn header: String?, remembered: inout RememberedKey?) -> Key? {
        guard let header else { return nil }
        if let remembered, Self.constantTimeEqual(remembered.header, header) { return remembered.key }
        guard let key = key(presentedIn: header) else { return nil }
        remembered = RememberedKey(header: header, key: key)
        return key
    }

    /// Whether two strings are equal, in time independent of where they differ (not of their lengths).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a.utf8, b.utf8) { difference |= x ^ y }
        return difference == 0
    }
}
