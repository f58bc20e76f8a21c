/// The range every number read from outside must lie in (topics.md, "Numbers"). Each message's
/// `validate()` checks its fields against these, so a decoded message never holds a value whose
/// arithmetic can overflow: with the bounds below, `epoch + 1`, `timestampMs + timeoutMs`, sums of
/// a few thousand sizes and products of counts with sizes all fit in 64 bits, and every
/// floating-point field is finite.
///
/// A field outside its range is a ``MessageError`` naming the field and the range, so the
/// publisher learns what to fix and the reader keeps running.
public enum ValueRange {
    /// Plan epochs: 1 to 2^53 (far beyond any real count of re-plans; `epoch + 1` cannot overflow).
    public static let epoch: ClosedRange<Int> = 1...(1 << 53)
    /// Moments, Unix ms: 1970 to the end of year 9999.
    public static let timestampMs: ClosedRange<Int> = 0...253_402_300_799_999
    /// A request's own timeout (`timeoutMs`, `s2m3.timeout-ms`): 1 ms to 1 hour.
    public static let timeoutMs: ClosedRange<Int> = 1...3_600_000
    /// Byte counts (memory budgets, module memory, resident memory, sizes in a placement
    /// instance): 0 to 1 TiB (2^40), so a sum over 2^23 of them still fits in 64 bits.
    public static let bytes: ClosedRange<Int> = 0...(1 << 40)
    /// Counts (queue depth and capacity, cores, threads, measured invocations): 0 to 2^31 − 1.
    public static let count: ClosedRange<Int> = 0...Int(Int32.max)
    /// Retry attempts of one invocation: 1 to 1,000.
    public static let attempt: ClosedRange<Int> = 1...1_000
    /// Measured durations in ms (queue wait, compute, p50, predicted latency): 0 to 10^12 (~31 years).
    public static let durationMs: ClosedRange<Double> = 0...1e12
    /// Compute speed, GFLOP/s: 10^-6 to 10^9.
    public static let gflops: ClosedRange<Double> = 1e-6...1e9
}

extension MessageCheck {
    /// `value` within `range`, else an error naming the field and the allowed range.
    static func within(_ value: Int, _ range: ClosedRange<Int>, _ field: String) throws(MessageError) {
        guard range.contains(value) else {
            throw MessageError(.invalidField, field: field, "is \(value); allowed: \(range.lowerBound)…\(range.upperBound)")
        }
    }

    /// `value` finite and within `range`, else an error naming the field and the allowed range.
    static func within(_ value: Double, _ range: ClosedRange<Double>, _ field: String) throws(MessageError) {
        guard value.isFinite, range.contains(value) else {
            throw MessageError(.invalidField, field: field, "is \(value); allowed: a finite number in \(range.lowerBound)…\(range.upperBound)")
        }
    }
}
