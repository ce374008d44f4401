from localsearch.cli import main

main()
