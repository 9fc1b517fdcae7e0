import Foundation
import TetherFuzzing

#if FUZZING
/// The target `TETHER_FUZZ_TARGET` names, read once.
let selectedTarget: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["TETHER_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.named(name) else {
        FileHandle.standardError.write(
            Data("TETHER_FUZZ_TARGET must be one of: \(FuzzTargets.names.joined(separator: ", ")); got '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's entry point (built with `-sanitize=fuzzer -DFUZZING`, see scripts/fuzz.sh).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedTarget(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// libFuzzer's driver, what its own `main` calls.
@_extern(c, "LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
#endif

/// With `-DFUZZING`, libFuzzer over the target `TETHER_FUZZ_TARGET` names (arguments are
/// libFuzzer's). SwiftPM links an executable's `@main` as the program's `main`, in place of the
/// one libFuzzer brings, so this hands over to libFuzzer's driver.
///
/// Without: `tether-fuzz <target> <file or directory>…` runs every file through the target, to
/// reproduce a finding in an ordinary build.
@main
struct TetherFuzz {
    static func main() {
        #if FUZZING
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOne))
        #else
        replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    static func replay(_ arguments: [String]) {
        guard let name = arguments.first, let target = FuzzTargets.named(name), arguments.count > 1 else {
            print("usage: tether-fuzz <\(FuzzTargets.names.joined(separator: "|"))> <file or directory>…")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("cannot read \(file)")
                    exit(1)
                }
                target(Array(data))
                count += 1
            }
        }
        print("\(name): \(count) inputs ran without a trap")
    }

    /// `path` itself, or the regular files directly inside it, sorted.
    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { "\(path)/\($0)" }.filter { file in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}
