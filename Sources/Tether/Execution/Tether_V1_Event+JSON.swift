import Foundation
import TetherEngine
import TetherProtocol

extension Tether_V1_Event {
    /// An event from its JSON form `{"id","name","data","ts","v"}` (`ts` in Unix milliseconds), as a
    /// `waitForEvent` step's stored output and a `tether/function.failed` event carry it; nil when `json`
    /// isn't an object with a string `name`.
    init?(json: JSONValue) {
        guard let object = json.objectValue, let name = object["name"]?.stringValue else {
            return nil
        }
        self.init()
        self.name = name
        self.id = object["id"]?.stringValue ?? ""
        if let data = object["data"], !data.isNull {
            self.data = Data(data.serialized())
        }
        if let ts = object["ts"] {
            self.tsUnixMs = ts.int64Value ?? ts.doubleValue.map { Int64($0) } ?? 0
        }
        self.v = object["v"]?.stringValue ?? ""
    }
}
