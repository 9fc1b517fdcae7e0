import Foundation

extension CronSchedule {
    /// How far ahead ``next(after:)`` looks before answering nil. Long enough for a leap day
    /// (`0 0 29 2 *`, up to 8 years apart) and for a leap day on a given weekday.
    public static let searchHorizonYears = 50

    /// The first time strictly after `date`, at second 0 of a minute, when the schedule fires;
    /// nil when it never fires (such as `0 0 30 2 *`) or not within ``searchHorizonYears``.
    ///
    /// Works field by field in wall-clock time, one time-zone offset period at a time, so its
    /// cost grows with the number of daylight-saving transitions crossed, not the minutes.
    /// See ``CronSchedule`` for what happens at daylight-saving changes.
    public func next(after date: Date) -> Date? {
        guard canEverFire else { return nil }
        let seconds = date.timeIntervalSince1970
        // ±30,000 years: beyond that the conversions below could overflow.
        guard seconds.isFinite, abs(seconds) < 1e12 else { return nil }
        let startSecond = Int(seconds.rounded(.down))
        let startOffset = timeZone.secondsFromGMT(for: date)
        // Civil minutes since 1970-01-01 00:00 local time; `lower` is the first candidate, inclusive.
        var lower = CivilTime.floorDivide(startSecond + startOffset, 60) + 1
        let horizon = lower + Self.searchHorizonYears * 366 * CivilTime.minutesPerDay
        if !hours.isStar {
            lower = max(lower, endOfRecentRepeat(before: date))
        }
        var segmentStart = date
        // A period of constant offset per iteration; real zones have a few transitions a year.
        for _ in 0..<(Self.searchHorizonYears * 8) {
            let offset = timeZone.secondsFromGMT(for: segmentStart)
            let transition = timeZone.nextDaylightSavingTimeTransition(after: segmentStart)
            let transitionSecond = transition.map { Int($0.timeIntervalSince1970.rounded(.up)) }
            let upper = transitionSecond.map { CivilTime.ceilingDivide($0 + offset, 60) } ?? horizon
            if let minute = firstMatch(from: lower, before: min(upper, horizon)) {
                return Date(timeIntervalSince1970: Double(minute * 60 - offset))
            }
            guard let transition, let transitionSecond, upper < horizon, transition > segmentStart else {
                return nil
            }
            let newOffset = timeZone.secondsFromGMT(for: transition)
            let newStart = CivilTime.ceilingDivide(transitionSecond + newOffset, 60)
            if newOffset > offset {
                // Spring forward: wall-clock minutes [upper, newStart) never happen. One that
                // matches fires when the gap ends.
                if firstMatch(from: max(lower, upper), before: min(newStart, horizon)) != nil {
                    return transition
                }
                lower = max(lower, newStart)
            } else if newOffset < offset {
                // Fall back: wall-clock minutes [newStart, upper) happen again.
                lower = hours.isStar ? newStart : max(lower, upper)
            }
            segmentStart = transition
        }
        return nil
    }

    /// The wall-clock minute just past a fall-back repeat that ended shortly before `date`, so
    /// that a fixed-hour schedule does not fire again in the second pass; `Int.min` when none.
    private func endOfRecentRepeat(before date: Date) -> Int {
        var end = Int.min
        var cursor = date.addingTimeInterval(-2 * 86_400)
        for _ in 0..<8 {
            guard let transition = timeZone.nextDaylightSavingTimeTransition(after: cursor), transition <= date,
                transition > cursor
            else { break }
            let before = timeZone.secondsFromGMT(for: transition.addingTimeInterval(-1))
            let after = timeZone.secondsFromGMT(for: transition)
            if before > after {
                let second = Int(transition.timeIntervalSince1970.rounded(.up))
                end = max(end, CivilTime.ceilingDivide(second + before, 60))
            }
            cursor = transition
        }
        return end
    }

    /// Whether some month has a day that day-of-month allows. Day-of-week alone always fires
    /// eventually, and so does a month/day pair combined with a weekday (within the horizon).
    var canEverFire: Bool {
        if !daysOfMonth.isStar && !daysOfWeek.isStar { return true }
        return (1...12).contains { month in
            guard months.contains(month) else { return false }
            let longest = month == 2 ? 29 : CivilTime.daysInMonth(year: 2001, month: month)
            return (1...longest).contains(where: daysOfMonth.contains)
        }
    }

    /// Whether the day passes the day-of-month/day-of-week rule.
    func dayMatches(days: Int, day: Int) -> Bool {
        let byMonthDay = daysOfMonth.contains(day)
        let byWeekday = daysOfWeek.contains(CivilTime.weekday(days: days))
        if daysOfMonth.isStar || daysOfWeek.isStar { return byMonthDay && byWeekday }
        return byMonthDay || byWeekday
    }

    /// The first wall-clock minute in `[lower, upper)` the fields allow, skipping whole months,
    /// days and hours at a time.
    func firstMatch(from lower: Int, before upper: Int) -> Int? {
        guard lower < upper else { return nil }
        let firstDay = CivilTime.floorDivide(lower, CivilTime.minutesPerDay)
        var (year, month, day) = CivilTime.date(days: firstDay)
        let minuteOfDay = lower - firstDay * CivilTime.minutesPerDay
        var (hour, minute) = (minuteOfDay / 60, minuteOfDay % 60)
        while true {
            let days = CivilTime.days(year: year, month: month, day: day)
            if days * CivilTime.minutesPerDay >= upper { return nil }
            if !months.contains(month) || day > CivilTime.daysInMonth(year: year, month: month) {
                // On to the first day of the next allowed month.
                if let next = months.next(atOrAfter: month + 1), next <= 12 {
                    month = next
                } else {
                    year += 1
                    month = months.next(atOrAfter: 1)!
                }
                (day, hour, minute) = (1, 0, 0)
                continue
            }
            guard dayMatches(days: days, day: day), let nextHour = hours.next(atOrAfter: hour), nextHour <= 23 else {
                (day, hour, minute) = (day + 1, 0, 0)
                continue
            }
            if nextHour != hour { (hour, minute) = (nextHour, 0) }
            guard let nextMinute = minutes.next(atOrAfter: minute), nextMinute <= 59 else {
                (hour, minute) = (hour + 1, 0)
                if hour > 23 { (day, hour) = (day + 1, 0) }
                continue
            }
            let result = days * CivilTime.minutesPerDay + hour * 60 + nextMinute
            return result < upper ? result : nil
        }
    }
}
