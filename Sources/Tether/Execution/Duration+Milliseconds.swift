extension Duration {
    /// Whole milliseconds, rounded up so that a positive duration is never 0 ms, clamped to `Int64`'s range.
    var roundedUpMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let perMillisecond: Int64 = 1_000_000_000_000_000
        // `attoseconds` has the sign of the duration and is less than a second in magnitude.
        var fraction = attoseconds / perMillisecond
        if attoseconds % perMillisecond > 0 {
            fraction += 1
        }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        if overflow {
            return seconds < 0 ? .min : .max
        }
        let (total, sumOverflow) = whole.addingReportingOverflow(fraction)
        return sumOverflow ? (whole < 0 ? .min : .max) : total
    }
}
