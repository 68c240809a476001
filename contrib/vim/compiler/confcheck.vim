" Vim compiler file for confcheck (fleetkit): :compiler confcheck, then :make
" runs confcheck and jumps to each problem. Its lines are
"   FILE:LINE:COL: error: MESSAGE [CHECK]
"   FILE:LINE: warning: MESSAGE [CHECK]
"   FILE: error: MESSAGE [CHECK]        (no line known)
if exists("current_compiler")
  finish
endif
let current_compiler = "confcheck"

if exists(":CompilerSet") != 2
  command -nargs=* CompilerSet setlocal <args>
endif

CompilerSet makeprg=confcheck
CompilerSet errorformat=%f:%l:%c:\ %trror:\ %m,
      \%f:%l:%c:\ %tarning:\ %m,
      \%f:%l:\ %trror:\ %m,
      \%f:%l:\ %tarning:\ %m,
      \%f:\ %trror:\ %m,
      \%f:\ %tarning:\ %m,
      \%-G%.%#
