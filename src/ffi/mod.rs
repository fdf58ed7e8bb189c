//! The C boundary: every `#[no_mangle]` item of the runtime and every type
//! of its C ABI, and nothing else.  Each function checks its arguments,
//! says what is wrong on stderr (`splitstack: ...`) and has a defined
//! outcome, then calls into the layers below.
//!
//! * `context`: `__splitstack_{get,set,make,reset,release}context` and the
//!   signal-blocking flags;
//! * `walk`: `__splitstack_find` and `__splitstack_find_context`;
//! * `settings`: this runtime's additions (settings, statistics,
//!   allocators);
//! * `libgcc`: libgcc's internal entry points, defined so that a link
//!   never pulls libgcc's objects in;
//! * `interrupt`: thread handles and interrupts through the stack limit;
//! * `thread`: `__wrap_pthread_create` and the exit hook;
//! * `hooks`: the Rust functions the assembly calls;
//! * `types`: the C ABI types (`SplitstackResult`, `SplitstackStats`,
//!   `SplitstackAllocator`; `SplitstackContext` is in `context`).

pub mod context;
pub mod hooks;
pub mod interrupt;
pub mod libgcc;
pub mod settings;
pub mod thread;
pub mod types;
pub mod walk;
