import Foundation

/// CPU time and memory of a process, from /proc (Linux): for `tether bench` and the tests that
/// measure a child coordinator.
package struct ProcessStats: Sendable {
    package var cpuSeconds: Double
    package var peakRSSBytes: Int
    package var rssBytes: Int

    package static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kilobytes(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return ProcessStats(cpuSeconds: (utime + stime) / ticks, peakRSSBytes: kilobytes("VmHWM"), rssBytes: kilobytes("VmRSS"))
    }
}
