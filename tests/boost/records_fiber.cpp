// What Boost.Context's ucontext back end declares but leaves to the
// library: the per-thread pointer to the running context, here for
// boost::context::fiber (records_continuation.cpp has the same for
// boost::context::continuation; the two headers cannot share a
// translation unit, both define detail::forced_unwind).  Debian's
// libboost_context is the fcontext build and has neither.
//
// On first use in a thread the pointer is set to a record for the
// thread's own top-level context (the record's default constructor
// captures it with getcontext and marks it main_ctx); resume() moves it.
// That record is freed when the thread exits.
#include <boost/context/fiber.hpp>

namespace boost {
namespace context {
namespace detail {

namespace {
struct thread_records {
    fiber_activation_record *top = new fiber_activation_record();
    fiber_activation_record *running = top;
    ~thread_records() { delete top; }
};
} // namespace

fiber_activation_record *&fiber_activation_record::current() noexcept {
    thread_local thread_records r;
    return r.running;
}

} // namespace detail
} // namespace context
} // namespace boost
