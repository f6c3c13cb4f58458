// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A stored blob: the address of its data contract (high 20 bytes) and its chunk count (low 4 bytes).
/// A value type of 24 bytes, so it shares a storage slot with small fields beside it.
type BlobRef is bytes24;

/// @title BlobStore
/// @notice Keeps the registries' JSON strings as the code of small data contracts rather than in storage.
/// @dev Contract code costs 200 gas a byte to deposit, storage 20,000 gas a 32-byte word (625 a byte), so
/// a 2 KiB request is about a third of the price. A string longer than one contract's code limit is split
/// into chunks, and an index contract lists the chunk addresses. Each data contract's code starts with a
/// STOP byte, so calling one does nothing.
library BlobStore {
    /// EIP-170 caps contract code at 24,576 bytes; each data contract spends one on the leading STOP.
    uint256 internal constant CHUNK_BYTES = 24_575;

    /// @notice Stores `data` and returns its reference; empty data is the zero reference and costs nothing.
    function write(bytes calldata data) internal returns (BlobRef) {
        uint256 length = data.length;
        if (length == 0) return BlobRef.wrap(bytes24(0));
        if (length <= CHUNK_BYTES) return pack(deploy(data), 1);
        uint256 chunkCount = (length + CHUNK_BYTES - 1) / CHUNK_BYTES;
        bytes memory chunkAddresses;
        for (uint256 start = 0; start < length; start += CHUNK_BYTES) {
            uint256 end = start + CHUNK_BYTES < length ? start + CHUNK_BYTES : length;
            chunkAddresses = bytes.concat(chunkAddresses, bytes20(deploy(data[start:end])));
        }
        return pack(deploy(chunkAddresses), uint32(chunkCount));
    }

    /// @notice Reads back what `write` stored; the zero reference reads as empty.
    function read(BlobRef ref) internal view returns (bytes memory data) {
        (address pointer, uint32 chunkCount) = unpack(ref);
        if (chunkCount <= 1) return readCode(pointer);
        bytes memory chunkAddresses = readCode(pointer);
        for (uint256 i = 0; i < chunkCount; ++i) {
            address chunk;
            assembly ("memory-safe") {
                chunk := shr(96, mload(add(add(chunkAddresses, 0x20), mul(i, 20))))
            }
            data = bytes.concat(data, readCode(chunk));
        }
    }

    /// @notice Whether `ref` names stored data (every registry requires its JSON to be non-empty).
    function exists(BlobRef ref) internal pure returns (bool) {
        return BlobRef.unwrap(ref) != bytes24(0);
    }

    function pack(address pointer, uint32 chunkCount) private pure returns (BlobRef) {
        return BlobRef.wrap(bytes24(bytes20(pointer)) | bytes24(uint192(chunkCount)));
    }

    function unpack(BlobRef ref) private pure returns (address pointer, uint32 chunkCount) {
        bytes24 raw = BlobRef.unwrap(ref);
        return (address(bytes20(raw)), uint32(uint192(raw)));
    }

    function deploy(bytes memory body) private returns (address pointer) {
        // Init code (10 bytes): PUSH2 size, DUP1, PUSH1 10, PUSH0, CODECOPY, PUSH0, RETURN. It copies
        // what follows it (STOP, then the body) to memory and returns that as the new contract's code.
        bytes memory initCode = abi.encodePacked(hex"61", uint16(body.length + 1), hex"80600a5f395ff3", hex"00", body);
        assembly ("memory-safe") {
            pointer := create(0, add(initCode, 0x20), mload(initCode))
        }
        require(pointer != address(0), "BlobStore: could not store the data");
    }

    function readCode(address pointer) private view returns (bytes memory data) {
        uint256 size = pointer.code.length;
        if (size == 0) return data;
        data = new bytes(size - 1);
        assembly ("memory-safe") {
            extcodecopy(pointer, add(data, 0x20), 1, sub(size, 1))
        }
    }
}
