/// How the simulated platform answers an app's token requests.
public enum SimulatorBehaviour: Sendable, Equatable {
    /// As documented.
    case normal
    /// `{"errcode":-1,"errmsg":"system error"}`.
    case busy
    /// HTTP 200 with a body that is not JSON.
    case garbage
    /// Never answers (until the simulator stops).
    case hang
    /// `{"errcode":45009,…}`: the daily quota is used up.
    case quotaExhausted
    /// Answers normally after a delay.
    case slow(milliseconds: Int)
    /// Issues the token on arrival (the platform's current token changes at once) but answers
    /// only after a delay: a call in flight while another one completes.
    case slowAnswer(milliseconds: Int)
    /// HTTP 500 with an empty body.
    case http500
}
