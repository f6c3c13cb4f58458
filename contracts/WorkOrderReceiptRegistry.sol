// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BlobRef, BlobStore} from "./BlobStore.sol";
import {WorkerRegistry} from "./WorkerRegistry.sol";
import {WorkOrderRegistry} from "./WorkOrderRegistry.sol";

/// @title WorkOrderReceiptRegistry
/// @notice Work order receipts (EEA Off-Chain Trusted Compute Specification): the account that submitted a
/// work order creates its receipt; that account and the account that registered the work order's worker
/// append updates, each moving the receipt's current status. Receipt and updates are kept as the
/// spec's JSON messages beside the fields that lookups filter on.
contract WorkOrderReceiptRegistry {
    uint256 internal constant STATUS_PENDING = 0;
    uint256 internal constant STATUS_COMPLETED = 1;
    uint256 internal constant STATUS_PROCESSED = 2;
    uint256 internal constant STATUS_FAILED = 3;
    uint256 internal constant STATUS_REJECTED = 4;
    /// In lookups, "any status"; never a receipt's own status.
    uint256 internal constant STATUS_ANY = 255;
    /// In workOrderReceiptUpdateRetrieve, "the last update".
    uint256 internal constant LAST_UPDATE = 0xFFFFFFFF;

    struct Receipt {
        bytes32 workerServiceId;
        bytes32 workerId;
        bytes32 requesterId;
        uint32 createStatus;
        uint32 currentStatus;
        BlobRef receipt;
    }

    struct Update {
        bytes32 updaterId;
        uint32 updateType;
        BlobRef update;
    }

    /// @notice The registry whose work orders receipts are for.
    WorkOrderRegistry public immutable workOrderRegistry;
    /// @notice The registry that names each worker's account (taken from the work order registry).
    WorkerRegistry public immutable workerRegistry;
    /// Ids matched per lookup page; fixed at deployment.
    uint256 public immutable lookUpPageSize;

    mapping(bytes32 => Receipt) private receipts;
    mapping(bytes32 => Update[]) private updates;
    /// Creation order: a lookup tag is a position in this list, which only grows.
    bytes32[] private receiptIds;

    /// @notice A receipt was created for a work order by its requester account.
    event workOrderReceiptCreated(
        bytes32 indexed workOrderId,
        bytes32 indexed workerId,
        bytes32 indexed requesterId,
        bytes32 workerServiceId,
        uint256 receiptStatus
    );
    /// @notice A receipt update was appended; `updateCount` is the receipt's number of updates so far.
    event workOrderReceiptUpdated(
        bytes32 indexed workOrderId,
        bytes32 indexed updaterId,
        uint256 indexed updateType,
        uint256 updateCount
    );

    /// @param workOrders The WorkOrderRegistry whose requester accounts create receipts; its WorkerRegistry names the workers' accounts.
    /// @param pageSize Ids per lookup page; positive.
    constructor(WorkOrderRegistry workOrders, uint256 pageSize) {
        require(address(workOrders) != address(0), "WorkOrderReceiptRegistry: work order registry address is zero");
        require(pageSize > 0, "WorkOrderReceiptRegistry: lookup page size must be positive");
        workOrderRegistry = workOrders;
        workerRegistry = workOrders.workerRegistry();
        lookUpPageSize = pageSize;
    }

    /// @notice Creates a work order's receipt. Only the account that submitted the work order may, once.
    /// @param workOrderId A submitted work order.
    /// @param workerServiceId The worker service (TCF: the worker id); kept for lookups.
    /// @param workerId The worker the work order names.
    /// @param requesterId The requester's id; kept for lookups.
    /// @param receiptCreateStatus 0–4 (pending, completed, processed, failed, rejected) or an application status above 255.
    /// @param receipt The WorkOrderReceiptCreate params as JSON; non-empty.
    function workOrderReceiptCreate(
        bytes32 workOrderId,
        bytes32 workerServiceId,
        bytes32 workerId,
        bytes32 requesterId,
        uint256 receiptCreateStatus,
        string calldata receipt
    ) external {
        (uint256 orderStatus, bytes32 orderWorkerId, address requester) = workOrderRegistry.workOrderParties(workOrderId);
        require(orderStatus != 0, "WorkOrderReceiptRegistry: unknown work order");
        require(msg.sender == requester, "WorkOrderReceiptRegistry: only the account that submitted the work order may create its receipt");
        require(workerId == orderWorkerId, "WorkOrderReceiptRegistry: worker id is not the work order's worker");
        require(!BlobStore.exists(receipts[workOrderId].receipt), "WorkOrderReceiptRegistry: work order already has a receipt");
        require(isReceiptStatus(receiptCreateStatus), "WorkOrderReceiptRegistry: status must be 0-4 or above 255");
        require(bytes(receipt).length > 0, "WorkOrderReceiptRegistry: receipt is empty");

        receipts[workOrderId] = Receipt({
            workerServiceId: workerServiceId,
            workerId: workerId,
            requesterId: requesterId,
            createStatus: uint32(receiptCreateStatus),
            currentStatus: uint32(receiptCreateStatus),
            receipt: BlobStore.write(bytes(receipt))
        });
        receiptIds.push(workOrderId);
        emit workOrderReceiptCreated(workOrderId, workerId, requesterId, workerServiceId, receiptCreateStatus);
    }

    /// @notice Appends an update to a receipt and makes `updateType` its current status. The updater is
    /// the receipt's requester (its requesterId, from the account that submitted the work order) or its
    /// worker (its workerId, from the account that registered the worker).
    /// @param workOrderId A work order with a receipt that is not COMPLETED.
    /// @param updaterId The receipt's requesterId or workerId, matching the caller's account.
    /// @param updateType The new status: 0–4 or above 255; a PROCESSED receipt cannot go back to 0, 3 or 4.
    /// @param update The WorkOrderReceiptUpdate params as JSON; non-empty.
    function workOrderReceiptUpdate(bytes32 workOrderId, bytes32 updaterId, uint256 updateType, string calldata update)
        external
    {
        Receipt storage receipt = receipts[workOrderId];
        require(BlobStore.exists(receipt.receipt), "WorkOrderReceiptRegistry: work order has no receipt");
        require(isUpdater(receipt, workOrderId, updaterId), "WorkOrderReceiptRegistry: only the work order's requester or worker account may update its receipt");
        uint256 current = receipt.currentStatus;
        require(current != STATUS_COMPLETED, "WorkOrderReceiptRegistry: receipt is COMPLETED and takes no more updates");
        require(isReceiptStatus(updateType), "WorkOrderReceiptRegistry: status must be 0-4 or above 255");
        require(
            current != STATUS_PROCESSED ||
                (updateType != STATUS_PENDING && updateType != STATUS_FAILED && updateType != STATUS_REJECTED),
            "WorkOrderReceiptRegistry: a PROCESSED receipt cannot go back to PENDING, FAILED or REJECTED"
        );
        require(bytes(update).length > 0, "WorkOrderReceiptRegistry: update is empty");

        receipt.currentStatus = uint32(updateType);
        Update[] storage list = updates[workOrderId];
        list.push(Update({updaterId: updaterId, updateType: uint32(updateType), update: BlobStore.write(bytes(update))}));
        emit workOrderReceiptUpdated(workOrderId, updaterId, updateType, list.length);
    }

    /// @notice A receipt; `receipt` is empty when the work order has none.
    function workOrderReceiptRetrieve(bytes32 workOrderId)
        external
        view
        returns (
            bytes32 workerServiceId,
            bytes32 workerId,
            bytes32 requesterId,
            uint256 receiptCreateStatus,
            uint256 receiptCurrentStatus,
            string memory receipt
        )
    {
        Receipt storage stored = receipts[workOrderId];
        return (
            stored.workerServiceId,
            stored.workerId,
            stored.requesterId,
            stored.createStatus,
            stored.currentStatus,
            string(BlobStore.read(stored.receipt))
        );
    }

    /// @notice One update of a receipt, among those by `updaterIdFilter` (zero: all updates).
    /// @param updateIndex 1-based position among the matching updates, or 0xFFFFFFFF for the last.
    /// @return updaterId The update's updater; zero, with an empty `update`, when there is no such update.
    /// @return updateType The status the update set.
    /// @return update The WorkOrderReceiptUpdate params as JSON.
    /// @return updateCount How many updates match the filter.
    function workOrderReceiptUpdateRetrieve(bytes32 workOrderId, bytes32 updaterIdFilter, uint256 updateIndex)
        external
        view
        returns (bytes32 updaterId, uint256 updateType, string memory update, uint256 updateCount)
    {
        Update[] storage list = updates[workOrderId];
        uint256 wanted = updateIndex == LAST_UPDATE ? countUpdates(list, updaterIdFilter) : updateIndex;
        for (uint256 i = 0; i < list.length; ++i) {
            if (!isBy(list[i], updaterIdFilter)) continue;
            ++updateCount;
            if (updateCount == wanted) {
                updaterId = list[i].updaterId;
                updateType = list[i].updateType;
                update = string(BlobStore.read(list[i].update));
            }
        }
    }

    /// @notice The first page of receipts matching every criterion: zero ids and status 255 match any.
    /// `receiptStatus` is matched against the current status.
    /// @return totalCount How many receipts match in all.
    /// @return lookUpTag Pass to workOrderReceiptLookUpNext for the next page; 0 when there is none.
    /// @return ids This page's work order ids, in creation order.
    function workOrderReceiptLookUp(bytes32 workerServiceId, bytes32 workerId, bytes32 requesterId, uint256 receiptStatus)
        external
        view
        returns (uint256 totalCount, uint256 lookUpTag, bytes32[] memory ids)
    {
        return lookUpFrom(workerServiceId, workerId, requesterId, receiptStatus, 0);
    }

    /// @notice The page of matching receipts that starts at `lastLookUpTag`, a tag from the previous page.
    function workOrderReceiptLookUpNext(
        bytes32 workerServiceId,
        bytes32 workerId,
        bytes32 requesterId,
        uint256 receiptStatus,
        uint256 lastLookUpTag
    ) external view returns (uint256 totalCount, uint256 lookUpTag, bytes32[] memory ids) {
        return lookUpFrom(workerServiceId, workerId, requesterId, receiptStatus, lastLookUpTag);
    }

    function isUpdater(Receipt storage receipt, bytes32 workOrderId, bytes32 updaterId) private view returns (bool) {
        if (updaterId == receipt.requesterId) {
            (,, address requester) = workOrderRegistry.workOrderParties(workOrderId);
            if (msg.sender == requester) return true;
        }
        if (updaterId == receipt.workerId) {
            (address registrant,) = workerRegistry.workerRegistrant(receipt.workerId);
            if (msg.sender == registrant) return true;
        }
        return false;
    }

    function countUpdates(Update[] storage list, bytes32 updaterIdFilter) private view returns (uint256 count) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (isBy(list[i], updaterIdFilter)) ++count;
        }
    }

    function isBy(Update storage update, bytes32 updaterIdFilter) private view returns (bool) {
        return updaterIdFilter == bytes32(0) || update.updaterId == updaterIdFilter;
    }

    function isReceiptStatus(uint256 status) private pure returns (bool) {
        return status <= STATUS_REJECTED || (status > STATUS_ANY && status <= type(uint32).max);
    }

    function lookUpFrom(bytes32 workerServiceId, bytes32 workerId, bytes32 requesterId, uint256 receiptStatus, uint256 start)
        private
        view
        returns (uint256 totalCount, uint256 nextTag, bytes32[] memory ids)
    {
        ids = new bytes32[](lookUpPageSize);
        uint256 found = 0;
        uint256 created = receiptIds.length;
        for (uint256 position = 0; position < created; ++position) {
            bytes32 workOrderId = receiptIds[position];
            Receipt storage receipt = receipts[workOrderId];
            if (workerServiceId != bytes32(0) && receipt.workerServiceId != workerServiceId) continue;
            if (workerId != bytes32(0) && receipt.workerId != workerId) continue;
            if (requesterId != bytes32(0) && receipt.requesterId != requesterId) continue;
            if (receiptStatus != STATUS_ANY && receipt.currentStatus != receiptStatus) continue;
            ++totalCount;
            if (position < start) continue;
            if (found < ids.length) ids[found++] = workOrderId;
            else if (nextTag == 0) nextTag = position;
        }
        // Trim the page to the ids found.
        assembly ("memory-safe") {
            mstore(ids, found)
        }
    }
}
