mod my_keys {
    trace_runtime::define_keys! {
        pub mod app {
            tenant: String,
            ratio: f32,
        }
    }
}

fn main() {
    let _ = my_keys::app::tenant;
}
