// IntrusiveList: a doubly linked FIFO through a ListLink member of its elements, so
// linking and unlinking allocate nothing and an element is removed in O(1) from wherever
// it is. The engine keeps its sessions in several at once (by activity, ticking, waiting
// for the handshake, in FIN grace): each is a Session member, no side table that could
// hold a stale key or grow with a SYN flood. Does not own its elements.
#pragma once

namespace stethoscope::core {

template <class T>
struct ListLink {
    T* prev = nullptr;
    T* next = nullptr;
    bool linked = false;
};

template <class T, ListLink<T> T::*Link>
class IntrusiveList {
public:
    T* front() const { return head_; }
    T* back() const { return tail_; }
    bool empty() const { return head_ == nullptr; }
    static T* next(const T& x) { return (x.*Link).next; }
    static bool linked(const T& x) { return (x.*Link).linked; }

    void push_back(T& x) {
        ListLink<T>& l = x.*Link;
        l.prev = tail_;
        l.next = nullptr;
        l.linked = true;
        (tail_ != nullptr ? (tail_->*Link).next : head_) = &x;
        tail_ = &x;
    }
    // A no-op when `x` is not in the list.
    void remove(T& x) {
        ListLink<T>& l = x.*Link;
        if (!l.linked) return;
        (l.prev != nullptr ? (l.prev->*Link).next : head_) = l.next;
        (l.next != nullptr ? (l.next->*Link).prev : tail_) = l.prev;
        l = ListLink<T>{};
    }
    // Moves `x` (in the list) to the back.
    void move_to_back(T& x) {
        if (tail_ == &x) return;
        remove(x);
        push_back(x);
    }

private:
    T* head_ = nullptr;
    T* tail_ = nullptr;
};

}  // namespace stethoscope::core
