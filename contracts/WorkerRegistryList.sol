// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title WorkerRegistryList
/// @notice The directory of worker registries (EEA Off-Chain Trusted Compute Specification; Avalon's
/// DirectRegistry): for each organization, the URI and contract address of its worker registry and the
/// application types it serves. Curated by the deploying account, the only one that may change it.
contract WorkerRegistryList {
    uint8 internal constant STATUS_ACTIVE = 1;
    uint8 internal constant STATUS_DECOMMISSIONED = 3;

    struct Registry {
        address registryContract;
        uint8 status;
        string uri;
        bytes32[] applicationTypeIds;
    }

    /// @notice The account that curates the list.
    address public immutable owner;
    /// Ids matched per lookup page; fixed at deployment.
    uint256 public immutable lookUpPageSize;

    mapping(bytes32 => Registry) private registries;
    /// Addition order: a lookup tag is a position in this list, which only grows.
    bytes32[] private organizationIds;

    /// @notice A registry was added as active.
    event registryAdded(bytes32 indexed organizationId, string uri, address registryContract, bytes32[] applicationTypeIds);
    /// @notice A registry's URI, contract address and application types were replaced.
    event registryUpdated(bytes32 indexed organizationId, string uri, address registryContract, bytes32[] applicationTypeIds);
    /// @notice A registry's status changed (1 active, 2 off-line, 3 decommissioned).
    event registryStatusChanged(bytes32 indexed organizationId, uint256 status);

    /// @notice The deploying account becomes the owner.
    /// @param pageSize Ids per lookup page; positive.
    constructor(uint256 pageSize) {
        require(pageSize > 0, "WorkerRegistryList: lookup page size must be positive");
        owner = msg.sender;
        lookUpPageSize = pageSize;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "WorkerRegistryList: only the owner may change the registry list");
        _;
    }

    modifier onlyListed(bytes32 organizationId) {
        require(registries[organizationId].status != 0, "WorkerRegistryList: unknown organization");
        _;
    }

    /// @notice Adds an organization's worker registry as active. Owner only.
    /// @param organizationId The organization; non-zero and not yet listed.
    /// @param uri Where the registry's off-chain service answers; non-empty.
    /// @param registryContract The organization's WorkerRegistry contract; non-zero.
    /// @param applicationTypeIds The application types its workers serve.
    function registryAdd(
        bytes32 organizationId,
        string calldata uri,
        address registryContract,
        bytes32[] calldata applicationTypeIds
    ) external onlyOwner {
        require(organizationId != bytes32(0), "WorkerRegistryList: organization id is zero");
        require(registries[organizationId].status == 0, "WorkerRegistryList: organization already listed");
        Registry storage registry = registries[organizationId];
        store(registry, uri, registryContract, applicationTypeIds);
        registry.status = STATUS_ACTIVE;
        organizationIds.push(organizationId);
        emit registryAdded(organizationId, uri, registryContract, applicationTypeIds);
    }

    /// @notice Replaces a listed registry's URI, contract address and application types. Owner only.
    function registryUpdate(
        bytes32 organizationId,
        string calldata uri,
        address registryContract,
        bytes32[] calldata applicationTypeIds
    ) external onlyOwner onlyListed(organizationId) {
        store(registries[organizationId], uri, registryContract, applicationTypeIds);
        emit registryUpdated(organizationId, uri, registryContract, applicationTypeIds);
    }

    /// @notice Sets a listed registry's status: 1 active, 2 off-line, 3 decommissioned. Owner only.
    function registrySetStatus(bytes32 organizationId, uint256 status) external onlyOwner onlyListed(organizationId) {
        require(status >= STATUS_ACTIVE && status <= STATUS_DECOMMISSIONED, "WorkerRegistryList: status must be 1 (active) to 3 (decommissioned)");
        registries[organizationId].status = uint8(status);
        emit registryStatusChanged(organizationId, status);
    }

    /// @notice The first page of organizations whose registry serves `applicationTypeId` (zero: all).
    /// @return totalCount How many match in all.
    /// @return lookUpTag Pass to registryLookUpNext for the next page; 0 when there is none.
    /// @return ids This page's organization ids, in the order they were added.
    function registryLookUp(bytes32 applicationTypeId)
        external
        view
        returns (uint256 totalCount, uint256 lookUpTag, bytes32[] memory ids)
    {
        return lookUpFrom(applicationTypeId, 0);
    }

    /// @notice The page of matching organizations that starts at `lookUpTag`, a tag from the previous page.
    function registryLookUpNext(bytes32 applicationTypeId, uint256 lookUpTag)
        external
        view
        returns (uint256 totalCount, uint256 newLookUpTag, bytes32[] memory ids)
    {
        return lookUpFrom(applicationTypeId, lookUpTag);
    }

    /// @notice An organization's registry; status 0 means the organization is not listed.
    function registryRetrieve(bytes32 organizationId)
        external
        view
        returns (string memory uri, address registryContract, bytes32[] memory applicationTypeIds, uint256 status)
    {
        Registry storage registry = registries[organizationId];
        return (registry.uri, registry.registryContract, registry.applicationTypeIds, registry.status);
    }

    function store(
        Registry storage registry,
        string calldata uri,
        address registryContract,
        bytes32[] calldata applicationTypeIds
    ) private {
        require(bytes(uri).length > 0, "WorkerRegistryList: uri is empty");
        require(registryContract != address(0), "WorkerRegistryList: registry contract address is zero");
        registry.uri = uri;
        registry.registryContract = registryContract;
        registry.applicationTypeIds = applicationTypeIds;
    }

    function lookUpFrom(bytes32 applicationTypeId, uint256 start)
        private
        view
        returns (uint256 totalCount, uint256 nextTag, bytes32[] memory ids)
    {
        ids = new bytes32[](lookUpPageSize);
        uint256 found = 0;
        uint256 listed = organizationIds.length;
        for (uint256 position = 0; position < listed; ++position) {
            bytes32 organizationId = organizationIds[position];
            if (!serves(registries[organizationId], applicationTypeId)) continue;
            ++totalCount;
            if (position < start) continue;
            if (found < ids.length) ids[found++] = organizationId;
            else if (nextTag == 0) nextTag = position;
        }
        // Trim the page to the ids found.
        assembly ("memory-safe") {
            mstore(ids, found)
        }
    }

    function serves(Registry storage registry, bytes32 applicationTypeId) private view returns (bool) {
        if (applicationTypeId == bytes32(0)) return true;
        bytes32[] storage served = registry.applicationTypeIds;
        for (uint256 i = 0; i < served.length; ++i) {
            if (served[i] == applicationTypeId) return true;
        }
        return false;
    }
}
