// SnapshotPool: recycles published Snapshots so EndCycle() allocates nothing
// in steady state.
//
// Each slot holds a Snapshot and the storage for its shared_ptr control
// block. Publish() builds the shared_ptr with an allocator that places the
// control block in that storage and, when the last reader's reference goes
// (deallocate is the control block's very last access), marks the slot free
// with a release store. Acquire() takes a slot whose flag it reads with
// acquire, so everything a reader did with the snapshot happens-before the
// writer reuses it (no reliance on shared_ptr::use_count(), whose relaxed
// load gives no such ordering).
//
// The allocator also keeps the pool alive, so a reader may hold a snapshot
// after the Pipeline is gone.
//
// Thread-safety: Acquire/Publish on the collection thread only; the returned
// shared_ptrs may be copied and dropped on any thread.
#ifndef NODEPULSE_PIPELINE_INTERNAL_SNAPSHOT_POOL_H_
#define NODEPULSE_PIPELINE_INTERNAL_SNAPSHOT_POOL_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline::internal {

class SnapshotPool {
 public:
  struct Slot {
    Snapshot snapshot;
    std::atomic<bool> free{true};
    alignas(std::max_align_t) unsigned char control_block[128];
  };

  static std::shared_ptr<SnapshotPool> Create() {
    return std::shared_ptr<SnapshotPool>(new SnapshotPool());
  }

  // A slot no reader holds; allocates a new one only if every slot is held.
  Slot* Acquire() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot* s = slots_[(next_ + i) % slots_.size()].get();
      if (s->free.load(std::memory_order_acquire)) {
        next_ = (next_ + i + 1) % slots_.size();
        s->free.store(false, std::memory_order_relaxed);
        return s;
      }
    }
    slots_.push_back(std::make_unique<Slot>());
    Slot* s = slots_.back().get();
    s->free.store(false, std::memory_order_relaxed);
    return s;
  }

  std::shared_ptr<const Snapshot> Publish(Slot* slot, std::shared_ptr<SnapshotPool> self) {
    return std::shared_ptr<const Snapshot>(
        &slot->snapshot, [](const Snapshot*) {}, SlotAllocator<Snapshot>(slot, std::move(self)));
  }

  // Bytes of every slot's value row (writer thread only).
  size_t bytes() const {
    size_t b = 0;
    for (const auto& s : slots_) b += sizeof(Slot) + s->snapshot.values.capacity() * sizeof(double);
    return b;
  }

 private:
  template <class T>
  struct SlotAllocator {
    using value_type = T;
    Slot* slot;
    std::shared_ptr<SnapshotPool> keep_alive;
    SlotAllocator(Slot* s, std::shared_ptr<SnapshotPool> p) : slot(s), keep_alive(std::move(p)) {}
    template <class U>
    SlotAllocator(const SlotAllocator<U>& o) : slot(o.slot), keep_alive(o.keep_alive) {}
    T* allocate(size_t n) {
      static_assert(sizeof(T) <= sizeof(Slot::control_block), "control block too big");
      static_assert(alignof(T) <= alignof(std::max_align_t));
      return reinterpret_cast<T*>(slot->control_block);
    }
    void deallocate(T*, size_t) { slot->free.store(true, std::memory_order_release); }
    template <class U>
    bool operator==(const SlotAllocator<U>& o) const {
      return slot == o.slot;
    }
  };

  SnapshotPool() {
    for (int i = 0; i < 3; ++i) slots_.push_back(std::make_unique<Slot>());
  }
  std::vector<std::unique_ptr<Slot>> slots_;
  size_t next_ = 0;
};

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_SNAPSHOT_POOL_H_
