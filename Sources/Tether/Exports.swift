// Engine types that appear in the SDK's public API, so `import Tether` is enough.
@_exported import struct TetherEngine.ErrorCode
@_exported import enum TetherEngine.JSONValue
@_exported import struct TetherEngine.TetherError
